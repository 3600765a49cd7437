// A loaded model: its file (memory-mapped; weights are used in place, except the matrices
// that get an interleaved copy, kernels/interleaved.h), hyperparameters and the weight views
// the forward pass reads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/io/gguf_reader.h"
#include "qforge/kernels/matmul.h"
#include "qforge/model/config.h"

namespace qforge {

struct LayerWeights {
  std::vector<float> attn_norm;
  WeightMatrix wq, wk, wv, wo;
  std::vector<float> bq, bk, bv;           // empty unless the architecture has biases
  std::vector<float> q_norm, k_norm;       // empty unless per-head q/k RMSNorm (Qwen3)
  std::vector<float> ffn_norm;
  WeightMatrix w_gate, w_up, w_down;
};

struct ModelWeights {
  WeightMatrix token_embd;                 // n_vocab rows of n_embd
  std::vector<float> output_norm;
  WeightMatrix output;                     // == token_embd when embeddings are tied
  std::vector<float> rope_freq_factors;    // empty unless the file has rope_freqs.weight
  std::vector<LayerWeights> layers;
};

// Whether Model::Load gives matrices their interleaved copies: yes unless QFORGE_INTERLEAVE=0
// (which keeps the row-major kernels, for comparisons and benchmarks).
bool InterleaveOnLoad();

class Model {
 public:
  // Loads a GGUF model; every tensor's presence, shape and type is checked here so the
  // forward pass never meets a surprise.
  static Expected<std::unique_ptr<Model>> Load(const std::string& path);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const GgufFile& file() const { return file_; }
  // Bytes of all weight tensors (what generation streams through per token).
  uint64_t weight_bytes() const;

 private:
  Model(GgufFile file, ModelConfig config) : file_(std::move(file)), config_(std::move(config)) {}
  Status BindWeights();
  // Gives every matrix that has interleaved kernels its interleaved copy (kernels/interleaved.h)
  // and drops the file's pages it no longer reads, so memory stays at one copy of the weights.
  void InterleaveWeights();

  GgufFile file_;
  ModelConfig config_;
  ModelWeights weights_;
  std::vector<std::vector<uint8_t>> interleaved_;  // the copies the matrices point into
};

}  // namespace qforge
