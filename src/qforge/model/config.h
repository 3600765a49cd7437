// Hyperparameters of a decoder-only transformer, read from GGUF metadata.
#pragma once

#include <cstdint>
#include <string>

#include "qforge/core/status.h"
#include "qforge/io/gguf_reader.h"
#include "qforge/kernels/rope.h"

namespace qforge {

struct ModelConfig {
  std::string arch;            // general.architecture: llama, qwen2, qwen3, mistral...
  std::string name;
  int n_vocab = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;            // key/query length per head
  int head_dim_v = 0;          // value length per head
  int n_ff = 0;
  int n_ctx_train = 0;
  float rms_eps = 1e-5f;
  RopeConfig rope;
  bool tied_embeddings = false;  // output head reuses token_embd
  bool qk_norm = false;          // per-head RMSNorm of q and k (Qwen3)
  bool qkv_bias = false;         // biases on q/k/v projections (Qwen2)
  std::string chat_template;     // tokenizer.chat_template, may be empty
};

// Architectures whose forward pass qforge implements.
bool IsSupportedArchitecture(const std::string& arch);

// Reads and validates the hyperparameters; errors name the file and the key.
Expected<ModelConfig> ReadModelConfig(const GgufFile& file);

}  // namespace qforge
