// Rotary position embeddings: configuration (from model metadata) and the per-position
// cos/sin tables, including linear and YaRN context scaling and per-pair frequency factors.
#pragma once

#include <cstdint>

namespace qforge {

enum class RopeOrdering {
  kNormal,  // rotate adjacent pairs (x[2i], x[2i+1]): Llama GGUFs, whose Q/K rows are permuted
  kNeox,    // rotate (x[i], x[i + n_rot/2]): Qwen2/3, Gemma
};

enum class RopeScaling { kNone, kLinear, kYarn };

struct RopeConfig {
  RopeOrdering ordering = RopeOrdering::kNormal;
  int n_rot = 0;               // dimensions rotated per head (<= head_dim)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;     // 1 / linear scaling factor
  RopeScaling scaling = RopeScaling::kNone;
  int n_ctx_orig = 0;          // training context, for YaRN's correction range
  float yarn_ext_factor = 0.0f;
  float yarn_attn_factor = 1.0f;
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;
};

// Rotary position embedding tables for one position: cos/sin per rotated pair.
class RopeTable {
 public:
  RopeTable(const RopeConfig& config, const float* freq_factors /* n_rot/2 or null */);
  // Fills cos_sin[2*i], cos_sin[2*i+1] for pair i at `position`.
  void Compute(int64_t position, float* cos_sin) const;
  // Rotates one head of `head_dim` values in place using a table from Compute().
  void Apply(float* head, const float* cos_sin) const;
  int n_rot() const { return config_.n_rot; }

 private:
  RopeConfig config_;
  const float* freq_factors_;
  float theta_scale_;
  float corr_dims_[2] = {0.0f, 0.0f};
};

}  // namespace qforge
