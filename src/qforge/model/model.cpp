#include "qforge/model/model.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

#include "qforge/io/mapped_file.h"
#include "qforge/kernels/interleaved.h"

namespace qforge {

namespace {

class TensorBinder {
 public:
  explicit TensorBinder(const GgufFile& file) : file_(file) {}

  Expected<WeightMatrix> Matrix(const std::string& name, int64_t n_in, int64_t n_out) const {
    const GgufTensorInfo* t = file_.FindTensor(name);
    if (t == nullptr) return MakeError(fmt::format("{}: missing tensor '{}'", file_.path(), name));
    if (t->shape.size() != 2 || t->shape[0] != n_in || t->shape[1] != n_out) {
      return MakeError(fmt::format("{}: tensor '{}' has shape {}, expected [{}, {}]", file_.path(),
                                   name, ShapeString(*t), n_in, n_out));
    }
    const FormatOps* ops = FindFormatOps(t->type);
    if (ops == nullptr || ops->is_activation_type) {
      return MakeError(fmt::format("{}: tensor '{}' has type {}, which qforge cannot compute with",
                                   file_.path(), name, GgmlTypeName(t->type)));
    }
    WeightMatrix w;
    w.type = t->type;
    w.data = t->data;
    w.n_in = n_in;
    w.n_out = n_out;
    w.row_bytes = static_cast<size_t>(*RowBytes(t->type, static_cast<uint64_t>(n_in)));
    w.ops = ops;
    w.name = &t->name;
    return w;
  }

  // A 1-D tensor converted to float (norm weights, biases).
  Expected<std::vector<float>> Vector(const std::string& name, int64_t n) const {
    const GgufTensorInfo* t = file_.FindTensor(name);
    if (t == nullptr) return MakeError(fmt::format("{}: missing tensor '{}'", file_.path(), name));
    if (t->n_elements() != n || t->row_length() != n) {
      return MakeError(fmt::format("{}: tensor '{}' has shape {}, expected [{}]", file_.path(), name,
                                   ShapeString(*t), n));
    }
    const FormatOps* ops = FindFormatOps(t->type);
    if (ops == nullptr) {
      return MakeError(fmt::format("{}: tensor '{}' has unsupported type {}", file_.path(), name,
                                   GgmlTypeName(t->type)));
    }
    std::vector<float> v(static_cast<size_t>(n));
    ops->dequantize_row(t->data, v.data(), n);
    return v;
  }

  bool Has(const std::string& name) const { return file_.FindTensor(name) != nullptr; }

 private:
  static std::string ShapeString(const GgufTensorInfo& t) {
    std::string s = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
    return s + "]";
  }
  const GgufFile& file_;
};

#define QF_ASSIGN(lhs, expr)              \
  {                                       \
    auto qf_value_ = (expr);              \
    if (!qf_value_) return qf_value_.error(); \
    lhs = std::move(*qf_value_);          \
  }

}  // namespace

Expected<std::unique_ptr<Model>> Model::Load(const std::string& path, const ModelLoadOptions& options) {
  auto file = GgufFile::Open(path);
  if (!file) return file.error();
  auto config = ReadModelConfig(*file);
  if (!config) return config.error();
  std::unique_ptr<Model> model(new Model(std::move(*file), std::move(*config)));
  QF_RETURN_IF_ERROR(model->BindWeights());
  QF_RETURN_IF_ERROR(model->PlaceWeights(InterleaveOnLoad(), options.float_matrices_as_q8_0));
  return model;
}

bool InterleaveOnLoad() {
  const char* value = std::getenv("QFORGE_INTERLEAVE");
  return value == nullptr || std::string_view(value) != "0";
}

Status Model::PlaceWeights(bool interleave, bool float_as_q8_0) {
  std::vector<WeightMatrix*> matrices = {&weights_.output};
  for (LayerWeights& l : weights_.layers) {
    for (WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) matrices.push_back(m);
  }
  const FormatOps* q8_0 = FindFormatOps(GgmlType::Q8_0);
  auto converts = [&](const WeightMatrix& m) {
    const bool is_float = m.type == GgmlType::F32 || m.type == GgmlType::F16 || m.type == GgmlType::BF16;
    return float_as_q8_0 && is_float && m.n_in % 32 == 0;
  };
  auto placed_row_bytes = [&](const WeightMatrix& m) {
    return converts(m) ? static_cast<size_t>(*RowBytes(GgmlType::Q8_0, static_cast<uint64_t>(m.n_in))) : m.row_bytes;
  };
  size_t total = 0;
  for (const WeightMatrix* m : matrices) total += HugePageArena::Footprint(placed_row_bytes(*m) * static_cast<size_t>(m->n_out));
  arena_ = HugePageArena(total);
  if (!arena_.ok()) {
    return MakeError(fmt::format("{}: cannot reserve {:.1f} MiB of memory for the weights", file_.path(),
                                 static_cast<double>(total) / 1048576.0));
  }
  std::vector<float> row;
  for (WeightMatrix* m : matrices) {
    const uint8_t* mapped = m->data;
    const uint64_t mapped_bytes = m->bytes();
    if (converts(*m)) {
      // Rows converted one by one straight into the arena, and left row-major: interleaving
      // reads a finished row-major matrix, which would need a second buffer of this size.
      const size_t row_bytes = placed_row_bytes(*m);
      uint8_t* copy = arena_.Allocate(row_bytes * static_cast<size_t>(m->n_out));
      row.resize(static_cast<size_t>(m->n_in));
      for (int64_t r = 0; r < m->n_out; ++r) {
        m->ops->dequantize_row(m->Row(r), row.data(), m->n_in);
        q8_0->quantize_row_ref(row.data(), copy + static_cast<size_t>(r) * row_bytes, m->n_in, nullptr);
      }
      m->type = GgmlType::Q8_0;
      m->ops = q8_0;
      m->row_bytes = row_bytes;
      m->data = copy;
      m->interleaved = nullptr;
    } else {
      uint8_t* copy = arena_.Allocate(m->bytes());
      if (interleave && CanInterleave(m->type, m->n_in, m->n_out)) {
        InterleaveRows(*m, copy);
        m->interleaved = copy;  // `data` stays on the file: row lookups (the tied embedding) read it
      } else {
        std::memcpy(copy, mapped, m->bytes());
        m->data = copy;
      }
    }
    // The file's pages of this matrix are not read again, except rows looked up; those fault
    // back in. Memory stays at one copy of the weights.
    DropMappedPages(mapped, mapped + mapped_bytes);
  }
  return Status::Ok();
}

Status Model::BindWeights() {
  const TensorBinder bind(file_);
  ModelConfig& c = config_;
  ModelWeights& w = weights_;
  const GgufTensorInfo* embd = file_.FindTensor("token_embd.weight");
  if (embd == nullptr) return MakeError(file_.path() + ": missing tensor 'token_embd.weight'");
  if (embd->shape.size() == 2) c.n_vocab = static_cast<int>(embd->shape[1]);
  QF_ASSIGN(w.token_embd, bind.Matrix("token_embd.weight", c.n_embd, c.n_vocab));
  QF_ASSIGN(w.output_norm, bind.Vector("output_norm.weight", c.n_embd));
  if (c.tied_embeddings) {
    w.output = w.token_embd;
  } else {
    QF_ASSIGN(w.output, bind.Matrix("output.weight", c.n_embd, c.n_vocab));
  }
  if (bind.Has("rope_freqs.weight")) {
    QF_ASSIGN(w.rope_freq_factors, bind.Vector("rope_freqs.weight", c.rope.n_rot / 2));
  }
  const int64_t q_dim = static_cast<int64_t>(c.n_head) * c.head_dim;
  const int64_t k_dim = static_cast<int64_t>(c.n_head_kv) * c.head_dim;
  const int64_t v_dim = static_cast<int64_t>(c.n_head_kv) * c.head_dim_v;
  const int64_t o_dim = static_cast<int64_t>(c.n_head) * c.head_dim_v;
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int i = 0; i < c.n_layer; ++i) {
    LayerWeights& l = w.layers[static_cast<size_t>(i)];
    const std::string p = fmt::format("blk.{}.", i);
    QF_ASSIGN(l.attn_norm, bind.Vector(p + "attn_norm.weight", c.n_embd));
    QF_ASSIGN(l.wq, bind.Matrix(p + "attn_q.weight", c.n_embd, q_dim));
    QF_ASSIGN(l.wk, bind.Matrix(p + "attn_k.weight", c.n_embd, k_dim));
    QF_ASSIGN(l.wv, bind.Matrix(p + "attn_v.weight", c.n_embd, v_dim));
    QF_ASSIGN(l.wo, bind.Matrix(p + "attn_output.weight", o_dim, c.n_embd));
    if (c.qkv_bias) {
      QF_ASSIGN(l.bq, bind.Vector(p + "attn_q.bias", q_dim));
      QF_ASSIGN(l.bk, bind.Vector(p + "attn_k.bias", k_dim));
      QF_ASSIGN(l.bv, bind.Vector(p + "attn_v.bias", v_dim));
    }
    if (c.qk_norm) {
      QF_ASSIGN(l.q_norm, bind.Vector(p + "attn_q_norm.weight", c.head_dim));
      QF_ASSIGN(l.k_norm, bind.Vector(p + "attn_k_norm.weight", c.head_dim));
    }
    QF_ASSIGN(l.ffn_norm, bind.Vector(p + "ffn_norm.weight", c.n_embd));
    QF_ASSIGN(l.w_gate, bind.Matrix(p + "ffn_gate.weight", c.n_embd, c.n_ff));
    QF_ASSIGN(l.w_up, bind.Matrix(p + "ffn_up.weight", c.n_embd, c.n_ff));
    QF_ASSIGN(l.w_down, bind.Matrix(p + "ffn_down.weight", c.n_ff, c.n_embd));
  }
  return Status::Ok();
}

uint64_t Model::weight_bytes() const {
  uint64_t total = 0;
  for (const auto& t : file_.tensors()) total += t.n_bytes;
  return total;
}

}  // namespace qforge
