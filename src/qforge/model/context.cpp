#include "qforge/model/context.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/kernels/attention.h"
#include "qforge/kernels/ops.h"

namespace qforge {

InferenceContext::InferenceContext(const Model& model, int n_ctx, int n_batch, ThreadPool& pool, int n_seq)
    : model_(model),
      c_(model.config()),
      pool_(pool),
      n_ctx_(n_ctx),
      n_batch_(std::max({1, std::min(n_batch, n_ctx), n_seq})),
      n_past_(static_cast<size_t>(std::max(1, n_seq)), 0),
      rope_(model.config().rope, model.weights().rope_freq_factors.empty()
                                     ? nullptr
                                     : model.weights().rope_freq_factors.data()) {
  const size_t kv_k = static_cast<size_t>(c_.n_head_kv) * c_.head_dim;
  const size_t kv_v = static_cast<size_t>(c_.n_head_kv) * c_.head_dim_v;
  const size_t positions = static_cast<size_t>(n_ctx_) * n_past_.size();
  key_stride_ = (static_cast<size_t>(n_ctx_) + 31) / 32 * 32;  // rows start on 64-byte steps
  k_cache_.assign(c_.n_layer, std::vector<uint16_t>(key_stride_ * n_past_.size() * kv_k));
  v_cache_.assign(c_.n_layer, std::vector<uint16_t>(positions * kv_v));
  const size_t b = static_cast<size_t>(n_batch_);
  row_seq_.resize(b);
  row_pos_.resize(b);
  x_.resize(b * c_.n_embd);
  xn_.resize(b * c_.n_embd);
  tmp_.resize(b * c_.n_embd);
  q_.resize(b * c_.n_head * c_.head_dim);
  k_.resize(b * kv_k);
  v_.resize(b * kv_v);
  attn_.resize(b * c_.n_head * c_.head_dim_v);
  ffn_gate_.resize(b * c_.n_ff);
  ffn_up_.resize(b * c_.n_ff);
  rope_cos_sin_.resize(b * c_.rope.n_rot);
}

Status InferenceContext::CheckTokens(std::span<const int32_t> tokens) const {
  for (int32_t t : tokens) {
    if (t < 0 || t >= c_.n_vocab) {
      return MakeError(fmt::format("token id {} is outside the vocabulary of {}", t, c_.n_vocab));
    }
  }
  return Status::Ok();
}

Status InferenceContext::Evaluate(int seq, std::span<const int32_t> tokens, size_t logits_from,
                                  std::vector<float>* logits) {
  if (seq < 0 || seq >= n_seq()) return MakeError(fmt::format("no sequence {} (the context holds {})", seq, n_seq()));
  if (tokens.empty()) return Status::Ok();
  const int past = n_past(seq);
  if (past + tokens.size() > static_cast<size_t>(n_ctx_)) {
    return MakeError(
        fmt::format("context overflow: {} cached + {} new tokens > context {}", past, tokens.size(), n_ctx_));
  }
  QF_RETURN_IF_ERROR(CheckTokens(tokens));
  const size_t n_out = logits_from < tokens.size() ? tokens.size() - logits_from : 0;
  if (logits != nullptr) logits->assign(n_out * static_cast<size_t>(c_.n_vocab), 0.0f);
  for (size_t start = 0; start < tokens.size(); start += n_batch_) {
    const int n = static_cast<int>(std::min<size_t>(n_batch_, tokens.size() - start));
    // Rows of this batch that need logits, relative to the batch.
    const int first_out = static_cast<int>(std::clamp<int64_t>(
        static_cast<int64_t>(logits_from) - static_cast<int64_t>(start), 0, n));
    float* out = nullptr;
    if (logits != nullptr && first_out < n) {
      out = logits->data() + (start + first_out - logits_from) * static_cast<size_t>(c_.n_vocab);
    }
    for (int i = 0; i < n; ++i) {
      row_seq_[static_cast<size_t>(i)] = seq;
      row_pos_[static_cast<size_t>(i)] = n_past(seq) + i;
    }
    ForwardRows(tokens.data() + start, n, out ? first_out : n, out);
    n_past_[static_cast<size_t>(seq)] += n;
  }
  return Status::Ok();
}

Status InferenceContext::DecodeStep(std::span<const int> seqs, std::span<const int32_t> tokens,
                                    std::vector<float>* logits) {
  if (seqs.size() != tokens.size()) return MakeError("DecodeStep: one token per sequence");
  if (seqs.empty()) return Status::Ok();
  if (seqs.size() > static_cast<size_t>(n_batch_)) {
    return MakeError(fmt::format("DecodeStep: {} sequences exceed the batch of {}", seqs.size(), n_batch_));
  }
  QF_RETURN_IF_ERROR(CheckTokens(tokens));
  for (size_t r = 0; r < seqs.size(); ++r) {
    const int seq = seqs[r];
    if (seq < 0 || seq >= n_seq()) return MakeError(fmt::format("DecodeStep: no sequence {}", seq));
    const auto earlier = seqs.first(r);
    if (std::find(earlier.begin(), earlier.end(), seq) != earlier.end()) {
      return MakeError(fmt::format("DecodeStep: sequence {} given twice", seq));
    }
    if (n_past(seq) >= n_ctx_) return MakeError(fmt::format("context overflow: sequence {} is full ({})", seq, n_ctx_));
    row_seq_[r] = seq;
    row_pos_[r] = n_past(seq);
  }
  const int n = static_cast<int>(seqs.size());
  if (logits != nullptr) logits->assign(seqs.size() * static_cast<size_t>(c_.n_vocab), 0.0f);
  ForwardRows(tokens.data(), n, logits ? 0 : n, logits ? logits->data() : nullptr);
  for (int seq : seqs) ++n_past_[static_cast<size_t>(seq)];
  return Status::Ok();
}

uint16_t* InferenceContext::KeyColumns(int layer, int seq, int kv_head) {
  const size_t rows = (static_cast<size_t>(seq) * c_.n_head_kv + kv_head) * c_.head_dim;
  return &k_cache_[layer][rows * key_stride_];
}

uint16_t* InferenceContext::ValueRow(int layer, int seq, int pos) {
  const size_t v_dim = static_cast<size_t>(c_.n_head_kv) * c_.head_dim_v;
  return &v_cache_[layer][(static_cast<size_t>(seq) * n_ctx_ + pos) * v_dim];
}

void InferenceContext::Project(const float* x, int n,
                               std::initializer_list<std::pair<const WeightMatrix*, float*>> outputs) {
  bool have = false;
  for (const auto& [w, y] : outputs) {
    if (observer_) observer_(*w, x, n);
    // Inputs shared by several weights (q/k/v, gate/up) are quantized once per partner type.
    if (!have || xq_.type != w->ops->vec_dot_type) {
      QuantizeRows(x, n, w->n_in, w->n_in, w->ops->vec_dot_type, xq_, pool_);
      have = true;
    }
    MatMul(*w, xq_, y, w->n_out, pool_);
  }
}

void InferenceContext::ForwardRows(const int32_t* tokens, int n, int first_out, float* logits_out) {
  const ModelWeights& W = model_.weights();
  const int d = c_.n_embd;
  const int64_t q_dim = static_cast<int64_t>(c_.n_head) * c_.head_dim;
  const int64_t k_dim = static_cast<int64_t>(c_.n_head_kv) * c_.head_dim;
  const int64_t v_dim = static_cast<int64_t>(c_.n_head_kv) * c_.head_dim_v;

  for (int i = 0; i < n; ++i) DequantizeRow(W.token_embd, tokens[i], &x_[static_cast<size_t>(i) * d]);
  // A prompt's per-row work is split across the threads like its matmuls (each row's
  // arithmetic is the same whichever thread does it); a single row runs inline.
  const auto each_row = [&](int rows, const auto& fn) {
    pool_.ParallelFor(
        static_cast<size_t>(rows),
        [&](size_t begin, size_t end, int) {
          for (size_t i = begin; i < end; ++i) fn(static_cast<int>(i));
        },
        4);
  };
  each_row(n, [&](int i) {
    rope_.Compute(row_pos_[static_cast<size_t>(i)], &rope_cos_sin_[static_cast<size_t>(i) * c_.rope.n_rot]);
  });

  for (int layer = 0; layer < c_.n_layer; ++layer) {
    const LayerWeights& L = W.layers[static_cast<size_t>(layer)];
    each_row(n, [&](int i) {
      RmsNorm(&x_[static_cast<size_t>(i) * d], L.attn_norm.data(), d, c_.rms_eps, &xn_[static_cast<size_t>(i) * d]);
    });
    Project(xn_.data(), n, {{&L.wq, q_.data()}, {&L.wk, k_.data()}, {&L.wv, v_.data()}});

    each_row(n, [&](int i) {
      float* q = &q_[static_cast<size_t>(i) * q_dim];
      float* k = &k_[static_cast<size_t>(i) * k_dim];
      float* v = &v_[static_cast<size_t>(i) * v_dim];
      if (!L.bq.empty()) {
        AddInPlace(q, L.bq.data(), q_dim);
        AddInPlace(k, L.bk.data(), k_dim);
        AddInPlace(v, L.bv.data(), v_dim);
      }
      if (!L.q_norm.empty()) {
        for (int h = 0; h < c_.n_head; ++h) RmsNorm(q + h * c_.head_dim, L.q_norm.data(), c_.head_dim, c_.rms_eps, q + h * c_.head_dim);
        for (int h = 0; h < c_.n_head_kv; ++h) RmsNorm(k + h * c_.head_dim, L.k_norm.data(), c_.head_dim, c_.rms_eps, k + h * c_.head_dim);
      }
      const float* cs = &rope_cos_sin_[static_cast<size_t>(i) * c_.rope.n_rot];
      for (int h = 0; h < c_.n_head; ++h) rope_.Apply(q + h * c_.head_dim, cs);
      for (int h = 0; h < c_.n_head_kv; ++h) rope_.Apply(k + h * c_.head_dim, cs);
      // The cache stores keys and values in half precision, as llama.cpp's default F16 cache;
      // keys transposed, component j of this position into row j (attention.h).
      const int seq = row_seq_[static_cast<size_t>(i)], pos = row_pos_[static_cast<size_t>(i)];
      thread_local std::vector<uint16_t> k_half;
      k_half.resize(static_cast<size_t>(k_dim));
      SelectAttentionKernels().from_f32(k, k_half.data(), k_dim);
      for (int h = 0; h < c_.n_head_kv; ++h) {
        uint16_t* column = KeyColumns(layer, seq, h) + pos;
        const uint16_t* head = &k_half[static_cast<size_t>(h) * c_.head_dim];
        for (int j = 0; j < c_.head_dim; ++j) column[static_cast<size_t>(j) * key_stride_] = head[j];
      }
      SelectAttentionKernels().from_f32(v, ValueRow(layer, seq, pos), v_dim);
    });
    Attention(layer, n);
    Project(attn_.data(), n, {{&L.wo, tmp_.data()}});
    each_row(n, [&](int i) {
      AddInPlace(&x_[static_cast<size_t>(i) * d], &tmp_[static_cast<size_t>(i) * d], d);
      RmsNorm(&x_[static_cast<size_t>(i) * d], L.ffn_norm.data(), d, c_.rms_eps, &xn_[static_cast<size_t>(i) * d]);
    });
    Project(xn_.data(), n, {{&L.w_gate, ffn_gate_.data()}, {&L.w_up, ffn_up_.data()}});
    const int64_t n_ff = c_.n_ff;
    each_row(n, [&](int i) { SwiGlu(&ffn_gate_[static_cast<size_t>(i * n_ff)], &ffn_up_[static_cast<size_t>(i * n_ff)], n_ff); });
    Project(ffn_gate_.data(), n, {{&L.w_down, tmp_.data()}});
    each_row(n, [&](int i) { AddInPlace(&x_[static_cast<size_t>(i) * d], &tmp_[static_cast<size_t>(i) * d], d); });
  }

  if (logits_out == nullptr || first_out >= n) return;
  const int n_out = n - first_out;
  for (int i = 0; i < n_out; ++i) {
    RmsNorm(&x_[static_cast<size_t>(first_out + i) * d], W.output_norm.data(), d, c_.rms_eps,
            &xn_[static_cast<size_t>(i) * d]);
  }
  Project(xn_.data(), n_out, {{&W.output, logits_out}});
}

void InferenceContext::Attention(int layer, int n) {
  const int hd = c_.head_dim, hdv = c_.head_dim_v;
  const int group = c_.n_head / c_.n_head_kv;
  const int64_t q_dim = static_cast<int64_t>(c_.n_head) * hd;
  const int64_t v_dim = static_cast<int64_t>(c_.n_head_kv) * hdv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const AttentionKernels& kern = SelectAttentionKernels();
  // A task is a query row and a set of query heads that share one key/value head: the set is
  // scored against its causal window together, then softmax, then the weighted values. Every
  // head's arithmetic is the same however heads are grouped into tasks, and a row's result
  // depends only on its own query and the cache, not on the batch around it. Generation (one
  // row) splits the group head by head so that all threads have work.
  const int per_task = static_cast<size_t>(n) * c_.n_head_kv >= 2 * static_cast<size_t>(pool_.size()) ? group : 1;
  const int tasks_per_row = c_.n_head / per_task;
  pool_.ParallelFor(static_cast<size_t>(n) * tasks_per_row, [&](size_t begin, size_t end, int) {
    std::vector<uint16_t> q_half(static_cast<size_t>(per_task) * hd);
    std::vector<float> q(static_cast<size_t>(per_task) * hd);
    std::vector<float> p, inv_sum(static_cast<size_t>(per_task));
    for (size_t task = begin; task < end; ++task) {
      const int i = static_cast<int>(task / tasks_per_row);
      const int h0 = static_cast<int>(task % tasks_per_row) * per_task;  // first query head
      const int kvh = h0 / group;
      const int seq = row_seq_[static_cast<size_t>(i)];
      const int n_keys = row_pos_[static_cast<size_t>(i)] + 1;
      const uint16_t* K = KeyColumns(layer, seq, kvh);
      const uint16_t* V = ValueRow(layer, seq, 0);
      // The queries are rounded to half precision for the dot with the F16 keys, as ggml does.
      const float* q_row = &q_[static_cast<size_t>(i) * q_dim + static_cast<size_t>(h0) * hd];
      kern.from_f32(q_row, q_half.data(), static_cast<int64_t>(q_half.size()));
      for (size_t j = 0; j < q.size(); ++j) q[j] = Fp16ToFp32(q_half[j]);
      p.resize(static_cast<size_t>(per_task) * n_keys);
      kern.scores(q.data(), per_task, hd, K, key_stride_, n_keys, scale, p.data());
      for (int g = 0; g < per_task; ++g) {
        float* pg = p.data() + static_cast<size_t>(g) * n_keys;
        inv_sum[g] = 1.0f / kern.exp_sum(pg, n_keys, kern.max(pg, n_keys));
      }
      float* out = &attn_[static_cast<size_t>(i) * c_.n_head * hdv + static_cast<size_t>(h0) * hdv];
      kern.weighted_values(p.data(), per_task, n_keys, V + static_cast<size_t>(kvh) * hdv, static_cast<size_t>(v_dim),
                           hdv, out);
      for (int g = 0; g < per_task; ++g) {
        for (int j = 0; j < hdv; ++j) out[g * hdv + j] *= inv_sum[g];
      }
    }
  });
}

}  // namespace qforge
