// A loaded model: its file (memory-mapped), hyperparameters and the weight views the forward
// pass reads. The matrices it multiplies by are copied into one huge-page region, interleaved
// where kernels/interleaved.h has kernels for their type; the rest (norms, the embedding's
// row lookups) is read in place from the file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "qforge/core/huge_page_arena.h"
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

struct ModelLoadOptions {
  // Store float (F32/F16/BF16) matrices as Q8_0 copies: a quarter of F32's memory and
  // bandwidth, for runs where the model only has to behave like itself (sampling calibration
  // text, calib/self_calibration.h), not reproduce its exact logits.
  bool float_matrices_as_q8_0 = false;
};

class Model {
 public:
  // Loads a GGUF model; every tensor's presence, shape and type is checked here so the
  // forward pass never meets a surprise.
  static Expected<std::unique_ptr<Model>> Load(const std::string& path, const ModelLoadOptions& options = {});

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const GgufFile& file() const { return file_; }
  // Bytes of all weight tensors (what generation streams through per token).
  uint64_t weight_bytes() const;

 private:
  Model(GgufFile file, ModelConfig config) : file_(std::move(file)), config_(std::move(config)) {}
  Status BindWeights();
  // Copies every matrix the forward pass multiplies by into arena_ (huge pages: generation
  // streams all of them per token, and on Zen 4 that ran 9-20% faster than from the file's
  // 4 KiB pages), interleaved (kernels/interleaved.h) where `interleave` and the type allow,
  // and drops the file's pages of each, so memory stays at one copy of the weights.
  // float_as_q8_0: see ModelLoadOptions.
  Status PlaceWeights(bool interleave, bool float_as_q8_0);

  GgufFile file_;
  ModelConfig config_;
  ModelWeights weights_;
  HugePageArena arena_;  // the copies the matrices point into
};

}  // namespace qforge
