#include "qforge/quant/importance.h"

#include <cstdlib>

namespace qforge {

namespace {

// "blk.12.attn_q.weight" -> 12; -1 for names outside the blocks.
int BlockIndex(const std::string& name) {
  if (!name.starts_with("blk.")) return -1;
  char* end = nullptr;
  const long i = std::strtol(name.c_str() + 4, &end, 10);
  return (end != name.c_str() + 4 && *end == '.') ? static_cast<int>(i) : -1;
}

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
  }
  return "?";
}

std::string NormFeeding(const std::string& name, bool tied_embeddings) {
  const int block = BlockIndex(name);
  if (block >= 0) {
    const std::string prefix = "blk." + std::to_string(block) + ".";
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

ImportancePlanner::ImportancePlanner(TensorSource& source, const Imatrix* imatrix, bool fill_gaps)
    : source_(source), imatrix_(imatrix), fill_gaps_(fill_gaps) {
  for (const auto& t : source.tensors()) {
    if (t.name == "output.weight") tied_embeddings_ = false;
    n_blocks_ = std::max(n_blocks_, BlockIndex(t.name) + 1);
  }
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
    if (t.shape.size() < 2 || NormFeeding(t.name, tied_embeddings_).empty()) continue;
    if (imatrix_ != nullptr && imatrix_->Find(t.name) != nullptr) continue;
    auto energy = EmbeddingChannelEnergy(t.shape[0]);  // kept for For()
    if (!energy) return energy.error();
    return Status::Ok();
  }
  return Status::Ok();
}

std::string ImportancePlanner::LastBlockFfnInput() const {
  if (imatrix_ == nullptr || n_blocks_ == 0) return "";
  const std::string prefix = "blk." + std::to_string(n_blocks_ - 1) + ".";
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
  if (norm.empty()) return out;
  auto gain = ReadVector(norm, row_len);
  if (!gain) return gain.error();
  if (gain->empty()) return out;

  // The output head with a measurement of the last block's FFN input: carry it through.
  const std::string ffn = norm == "output_norm.weight" ? LastBlockFfnInput() : "";
  if (!ffn.empty()) {
    const std::vector<float>& measured = *imatrix_->Find(ffn);
    auto ffn_gain = ReadVector(ffn.substr(0, ffn.find('.', 4) + 1) + "ffn_norm.weight", row_len);
    if (!ffn_gain) return ffn_gain.error();
    if (!ffn_gain->empty() && static_cast<int64_t>(measured.size()) == row_len) {
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

  auto energy = EmbeddingChannelEnergy(row_len);
  if (!energy) return energy.error();
  out.values.resize(static_cast<size_t>(row_len));
  for (int64_t j = 0; j < row_len; ++j) {
    const float g = (*gain)[j];
    out.values[j] = g * g * (energy->empty() ? 1.0f : (*energy)[j]);
  }
  out.origin = ImportanceOrigin::kEstimated;
  return out;
}

}  // namespace qforge
