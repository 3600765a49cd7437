// Running a model: the KV cache of one or several sequences, scratch buffers and the forward
// pass over a batch of tokens.
#pragma once

#include <algorithm>
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
  // n_ctx: positions the KV cache holds per sequence; n_batch: tokens processed per forward
  // pass; n_seq: independent sequences held at once (batched decoding, see DecodeStep).
  InferenceContext(const Model& model, int n_ctx, int n_batch, ThreadPool& pool, int n_seq = 1);

  int n_ctx() const { return n_ctx_; }
  int n_seq() const { return static_cast<int>(n_past_.size()); }
  int n_past(int seq = 0) const { return n_past_[static_cast<size_t>(seq)]; }
  // Forgets cached positions at and after `n` (n = 0 starts a new sequence).
  void Truncate(int n) { Truncate(0, n); }
  void Truncate(int seq, int n) { n_past_[static_cast<size_t>(seq)] = std::min(n_past_[static_cast<size_t>(seq)], n); }

  // Appends `tokens` to sequence `seq` at positions n_past(seq)..; for the rows
  // [logits_from, tokens.size()) writes one row of n_vocab logits each into `logits`
  // (resized). Fails when the cache would overflow or a token id is out of range.
  Status Evaluate(std::span<const int32_t> tokens, size_t logits_from, std::vector<float>* logits) {
    return Evaluate(0, tokens, logits_from, logits);
  }
  Status Evaluate(int seq, std::span<const int32_t> tokens, size_t logits_from, std::vector<float>* logits);

  // Appends tokens[r] to sequence seqs[r] for every r (distinct sequences) in one forward pass
  // and writes their logits, row r for seqs[r]. Each row's logits are bit-identical to
  // evaluating that sequence alone: the rows share the weight reads, not arithmetic.
  Status DecodeStep(std::span<const int> seqs, std::span<const int32_t> tokens, std::vector<float>* logits);

  void set_observer(MatMulObserver observer) { observer_ = std::move(observer); }
  const Model& model() const { return model_; }

 private:
  // Runs the rows [0, n): row i is token tokens[i] of sequence row_seq_[i] at position
  // row_pos_[i]. Logits for rows [first_out, n) go to logits_out (null: none).
  void ForwardRows(const int32_t* tokens, int n, int first_out, float* logits_out);
  void Attention(int layer, int n);
  Status CheckTokens(std::span<const int32_t> tokens) const;
  // The transposed keys of one sequence and key/value head (attention.h): head_dim rows of
  // key_stride_ halfs, row j holding component j of every position.
  uint16_t* KeyColumns(int layer, int seq, int kv_head);
  uint16_t* ValueRow(int layer, int seq, int pos);
  // y_i = x W_i^T for each (W_i, y_i), all reading the same n input rows.
  void Project(const float* x, int n,
               std::initializer_list<std::pair<const WeightMatrix*, float*>> outputs);

  const Model& model_;
  const ModelConfig& c_;
  ThreadPool& pool_;
  int n_ctx_;
  int n_batch_;
  std::vector<int> n_past_;  // per sequence
  RopeTable rope_;
  MatMulObserver observer_;

  // KV cache in half floats, per layer. Keys: per sequence and key/value head, head_dim rows of
  // key_stride_ (n_ctx rounded up to 32) positions. Values: per sequence, n_ctx rows of
  // n_head_kv * head_dim_v.
  std::vector<std::vector<uint16_t>> k_cache_, v_cache_;
  size_t key_stride_;
  // The sequence and position of each row of the current forward pass.
  std::vector<int> row_seq_, row_pos_;
  // Scratch, sized for n_batch rows.
  std::vector<float> x_, xn_, q_, k_, v_, attn_, ffn_gate_, ffn_up_, tmp_;
  std::vector<float> rope_cos_sin_;
  QuantizedRows xq_;
};

}  // namespace qforge
