#include "qforge/quant/importance.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numbers>

namespace qforge {

namespace {

// "blk.12.attn_q.weight" -> 12; -1 for names outside the blocks.
int BlockIndex(const std::string& name) {
  if (!name.starts_with("blk.")) return -1;
  char* end = nullptr;
  const long i = std::strtol(name.c_str() + 4, &end, 10);
  return (end != name.c_str() + 4 && *end == '.') ? static_cast<int>(i) : -1;
}

std::string BlockPrefix(int block) { return "blk." + std::to_string(block) + "."; }

bool EndsWithAny(const std::string& name, std::initializer_list<const char*> suffixes) {
  for (const char* s : suffixes) {
    if (name.ends_with(s)) return true;
  }
  return false;
}

}  // namespace

const char* ImportanceOriginName(ImportanceOrigin origin) {
  switch (origin) {
    case ImportanceOrigin::kNone: return "none";
    case ImportanceOrigin::kMeasured: return "measured";
    case ImportanceOrigin::kDerived: return "derived";
    case ImportanceOrigin::kEstimated: return "estimated";
    case ImportanceOrigin::kSelfMeasured: return "self-measured";
  }
  return "?";
}

std::string NormFeeding(const std::string& name, bool tied_embeddings) {
  const int block = BlockIndex(name);
  if (block >= 0) {
    const std::string prefix = BlockPrefix(block);
    if (EndsWithAny(name, {".attn_q.weight", ".attn_k.weight", ".attn_v.weight", ".attn_qkv.weight"})) {
      return prefix + "attn_norm.weight";
    }
    if (EndsWithAny(name, {".ffn_gate.weight", ".ffn_up.weight", ".ffn_gate_exps.weight", ".ffn_up_exps.weight"})) {
      return prefix + "ffn_norm.weight";
    }
    return "";
  }
  if (name == "output.weight") return "output_norm.weight";
  // With tied embeddings the one matrix is also the output head; that role dominates the
  // error the quantization causes (measured on SmolLM2, docs/decisions.md).
  if (name == "token_embd.weight" && tied_embeddings) return "output_norm.weight";
  return "";
}

double SiluSquareMean(double sigma) {
  // Simpson's rule over z in [-8, 8] of silu(sigma z)^2 phi(z); the tails beyond hold < 1e-14.
  constexpr int kSteps = 800;
  constexpr double kLo = -8.0, kHi = 8.0, kH = (kHi - kLo) / kSteps;
  double sum = 0.0;
  for (int k = 0; k <= kSteps; ++k) {
    const double z = kLo + k * kH, x = sigma * z;
    const double silu = x / (1.0 + std::exp(-x));
    const double weight = (k == 0 || k == kSteps) ? 1.0 : (k % 2 ? 4.0 : 2.0);
    sum += weight * silu * silu * std::exp(-0.5 * z * z);
  }
  return sum * kH / 3.0 / std::sqrt(2.0 * std::numbers::pi);
}

ImportancePlanner::ImportancePlanner(TensorSource& source, const Imatrix* imatrix, bool fill_gaps)
    : source_(source), imatrix_(imatrix), fill_gaps_(fill_gaps) {
  for (const auto& t : source.tensors()) {
    if (t.name == "output.weight") tied_embeddings_ = false;
    if (t.name == "token_embd.weight") n_embd_ = t.shape[0];
    n_blocks_ = std::max(n_blocks_, BlockIndex(t.name) + 1);
  }
  std::string arch;
  for (const auto& [key, value] : source.metadata()) {
    if (key == "general.architecture" && TypeOf(value) == GgufType::STRING) arch = std::get<std::string>(value);
  }
  for (const auto& [key, value] : source.metadata()) {
    if (key != arch + ".attention.head_count") continue;
    if (const auto n = AsInteger(value)) n_head_ = *n;
  }
  silu_gated_ffn_ = arch == "llama";
}

Expected<std::vector<float>> ImportancePlanner::ReadVector(const std::string& name, int64_t expected_len) {
  const auto& tensors = source_.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name != name) continue;
    std::vector<float> v;
    QF_RETURN_IF_ERROR(source_.ReadFloat(i, v));
    if (static_cast<int64_t>(v.size()) != expected_len) return std::vector<float>{};
    return v;
  }
  return std::vector<float>{};
}

Expected<std::vector<float>> ImportancePlanner::EmbeddingChannelEnergy(int64_t n_embd) {
  if (static_cast<int64_t>(embedding_energy_.size()) == n_embd) return embedding_energy_;
  if (embedding_read_) return std::vector<float>{};  // absent, another width, or all zero
  embedding_read_ = true;
  const auto& tensors = source_.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name != "token_embd.weight" || tensors[i].shape[0] != n_embd) continue;
    std::vector<float> emb;
    QF_RETURN_IF_ERROR(source_.ReadFloat(i, emb));
    std::vector<double> sum(static_cast<size_t>(n_embd), 0.0);
    for (size_t r = 0; r + n_embd <= emb.size(); r += n_embd) {
      for (int64_t j = 0; j < n_embd; ++j) sum[j] += static_cast<double>(emb[r + j]) * emb[r + j];
    }
    double mean = 0.0;
    for (double s : sum) mean += s;
    mean /= static_cast<double>(n_embd);
    if (!(mean > 0.0)) break;
    embedding_energy_.resize(sum.size());
    for (size_t j = 0; j < sum.size(); ++j) embedding_energy_[j] = static_cast<float>(sum[j] / mean);
    source_.Release(i);
    return embedding_energy_;
  }
  return std::vector<float>{};
}

Status ImportancePlanner::Prepare() {
  if (!fill_gaps_) return Status::Ok();
  for (const auto& t : source_.tensors()) {
    const bool estimable = !NormFeeding(t.name, tied_embeddings_).empty() ||
                           EndsWithAny(t.name, {".ffn_down.weight", ".attn_output.weight"});
    if (t.shape.size() < 2 || !estimable) continue;
    if (imatrix_ != nullptr && imatrix_->Find(t.name) != nullptr) continue;
    if (n_embd_ > 0) {
      auto energy = EmbeddingChannelEnergy(n_embd_);  // kept for For()
      if (!energy) return energy.error();
    }
    return Status::Ok();
  }
  return Status::Ok();
}

std::string ImportancePlanner::LastBlockFfnInput() const {
  if (imatrix_ == nullptr || n_blocks_ == 0) return "";
  const std::string prefix = BlockPrefix(n_blocks_ - 1);
  for (const char* m : {"ffn_up.weight", "ffn_gate.weight", "ffn_up_exps.weight", "ffn_gate_exps.weight"}) {
    if (imatrix_->Find(prefix + m) != nullptr) return prefix + m;
  }
  return "";
}

Expected<ColumnImportance> ImportancePlanner::For(const std::string& name, int64_t row_len) {
  ColumnImportance out;
  if (imatrix_ != nullptr) {
    if (const std::vector<float>* m = imatrix_->Find(name)) {
      out.origin = ImportanceOrigin::kMeasured;
      out.values = *m;
      return out;
    }
  }
  if (!fill_gaps_) return out;
  const std::string norm = NormFeeding(name, tied_embeddings_);
  if (norm.empty()) {
    const int block = BlockIndex(name);
    if (block < 0) return out;
    const std::string prefix = BlockPrefix(block);
    if (name == prefix + "ffn_down.weight" && silu_gated_ffn_) return FfnHiddenEstimate(prefix, row_len);
    if (name == prefix + "attn_output.weight" && n_head_ > 0) return AttentionOutputEstimate(prefix, row_len);
    return out;
  }

  // The output head with a measurement of the last block's FFN input: carry it through.
  const std::string ffn = norm == "output_norm.weight" ? LastBlockFfnInput() : "";
  if (!ffn.empty()) {
    const std::vector<float>& measured = *imatrix_->Find(ffn);
    auto gain = ReadVector(norm, row_len);
    if (!gain) return gain.error();
    auto ffn_gain = ReadVector(BlockPrefix(n_blocks_ - 1) + "ffn_norm.weight", row_len);
    if (!ffn_gain) return ffn_gain.error();
    if (!gain->empty() && !ffn_gain->empty() && static_cast<int64_t>(measured.size()) == row_len) {
      out.values.resize(static_cast<size_t>(row_len));
      double sum = 0.0;
      int64_t known = 0;
      for (int64_t j = 0; j < row_len; ++j) {
        const float g_ffn = (*ffn_gain)[j];
        if (g_ffn == 0.0f) continue;  // a channel the FFN never sees: filled below
        const float r = (*gain)[j] / g_ffn;
        out.values[j] = measured[j] * r * r;
        sum += out.values[j];
        ++known;
      }
      const float fill = known ? static_cast<float>(sum / static_cast<double>(known)) : 1.0f;
      for (int64_t j = 0; j < row_len; ++j) {
        if ((*ffn_gain)[j] == 0.0f) out.values[j] = fill;
      }
      out.origin = ImportanceOrigin::kDerived;
      return out;
    }
  }

  auto stream = StreamEnergy(norm, row_len);
  if (!stream) return stream.error();
  if (stream->empty()) return out;
  out.values.assign(stream->begin(), stream->end());
  out.origin = ImportanceOrigin::kEstimated;
  return out;
}

Expected<std::vector<double>> ImportancePlanner::StreamEnergy(const std::string& norm, int64_t n_embd) {
  auto gain = ReadVector(norm, n_embd);
  if (!gain) return gain.error();
  auto energy = EmbeddingChannelEnergy(n_embd);
  if (!energy) return energy.error();
  std::vector<double> s;
  if (gain->empty()) return s;
  s.resize(gain->size());
  for (size_t j = 0; j < s.size(); ++j) {
    s[j] = static_cast<double>((*gain)[j]) * (*gain)[j] * (energy->empty() ? 1.0 : (*energy)[j]);
  }
  return s;
}

Expected<std::vector<double>> ImportancePlanner::RowEnergies(const std::string& matrix, const std::vector<double>& s) {
  const auto& tensors = source_.tensors();
  std::vector<double> rows;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name != matrix) continue;
    const int64_t width = tensors[i].shape[0];
    if (tensors[i].shape.size() != 2 || width != static_cast<int64_t>(s.size())) return rows;
    std::vector<float> w;
    QF_RETURN_IF_ERROR(source_.ReadFloat(i, w));
    source_.Release(i);  // its pages were read for these sums only
    rows.assign(w.size() / static_cast<size_t>(width), 0.0);
    for (size_t r = 0; r < rows.size(); ++r) {
      const float* row = w.data() + r * width;
      double sum = 0.0;
      for (int64_t k = 0; k < width; ++k) sum += static_cast<double>(row[k]) * row[k] * s[k];
      rows[r] = sum;
    }
    return rows;
  }
  return rows;
}

Expected<ColumnImportance> ImportancePlanner::FfnHiddenEstimate(const std::string& block, int64_t row_len) {
  ColumnImportance out;
  auto stream = StreamEnergy(block + "ffn_norm.weight", n_embd_);
  if (!stream) return stream.error();
  if (stream->empty()) return out;
  auto gate = RowEnergies(block + "ffn_gate.weight", *stream);  // variance of each gate input
  if (!gate) return gate.error();
  auto up = RowEnergies(block + "ffn_up.weight", *stream);
  if (!up) return up.error();
  if (static_cast<int64_t>(gate->size()) != row_len || static_cast<int64_t>(up->size()) != row_len) return out;
  out.values.resize(static_cast<size_t>(row_len));
  for (int64_t i = 0; i < row_len; ++i) {
    out.values[i] = static_cast<float>(SiluSquareMean(std::sqrt((*gate)[i])) * (*up)[i]);
  }
  out.origin = ImportanceOrigin::kEstimated;
  return out;
}

Expected<ColumnImportance> ImportancePlanner::AttentionOutputEstimate(const std::string& block, int64_t row_len) {
  ColumnImportance out;
  auto stream = StreamEnergy(block + "attn_norm.weight", n_embd_);
  if (!stream) return stream.error();
  if (stream->empty()) return out;
  auto value_rows = RowEnergies(block + "attn_v.weight", *stream);
  if (!value_rows) return value_rows.error();
  // Column i of the output projection reads dimension d of query head h, which averages the
  // values of KV head h / (n_head / n_head_kv) in the same dimension.
  if (row_len % n_head_ != 0) return out;
  const int64_t head_dim = row_len / n_head_;
  const int64_t n_head_kv = static_cast<int64_t>(value_rows->size()) / head_dim;
  if (n_head_kv == 0 || n_head_ % n_head_kv != 0 || n_head_kv * head_dim != static_cast<int64_t>(value_rows->size())) {
    return out;
  }
  const int64_t group = n_head_ / n_head_kv;
  out.values.resize(static_cast<size_t>(row_len));
  for (int64_t i = 0; i < row_len; ++i) {
    const int64_t head = i / head_dim, dim = i % head_dim;
    out.values[i] = static_cast<float>((*value_rows)[(head / group) * head_dim + dim]);
  }
  out.origin = ImportanceOrigin::kEstimated;
  return out;
}

}  // namespace qforge
