// Running a model: the KV cache, scratch buffers and the forward pass over a batch of tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/core/thread_pool.h"
#include "qforge/kernels/matmul.h"
#include "qforge/kernels/rope.h"
#include "qforge/model/model.h"

namespace qforge {

// Sees the float input of every weight multiplication (for activation statistics).
// Called on the calling thread with `n_rows` rows of `w.n_in` values.
using MatMulObserver = std::function<void(const WeightMatrix& w, const float* x, int64_t n_rows)>;

class InferenceContext {
 public:
  // n_ctx: positions the KV cache holds; n_batch: tokens processed per forward pass.
  InferenceContext(const Model& model, int n_ctx, int n_batch, ThreadPool& pool);

  int n_ctx() const { return n_ctx_; }
  int n_past() const { return n_past_; }
  // Forgets cached positions at and after `n` (n = 0 starts a new sequence).
  void Truncate(int n) { n_past_ = std::min(n_past_, n); }

  // Appends `tokens` at positions n_past()..; for the rows [logits_from, tokens.size())
  // writes one row of n_vocab logits each into `logits` (resized). Fails when the cache
  // would overflow or a token id is out of range.
  Status Evaluate(std::span<const int32_t> tokens, size_t logits_from, std::vector<float>* logits);

  void set_observer(MatMulObserver observer) { observer_ = std::move(observer); }
  const Model& model() const { return model_; }

 private:
  void ForwardBatch(const int32_t* tokens, int n, int first_out, float* logits_out);
  void Attention(int layer, int n, int pos0);
  // y_i = x W_i^T for each (W_i, y_i), all reading the same n input rows.
  void Project(const float* x, int n,
               std::initializer_list<std::pair<const WeightMatrix*, float*>> outputs);

  const Model& model_;
  const ModelConfig& c_;
  ThreadPool& pool_;
  int n_ctx_;
  int n_batch_;
  int n_past_ = 0;
  RopeTable rope_;
  MatMulObserver observer_;

  // KV cache: per layer, n_ctx rows of n_head_kv * head_dim half floats.
  std::vector<std::vector<uint16_t>> k_cache_, v_cache_;
  // Scratch, sized for n_batch rows.
  std::vector<float> x_, xn_, q_, k_, v_, attn_, ffn_gate_, ffn_up_, tmp_;
  std::vector<float> rope_cos_sin_;
  QuantizedRows xq_;
};

}  // namespace qforge
