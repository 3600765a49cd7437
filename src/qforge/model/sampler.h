// Choosing the next token from logits: greedy, or seeded sampling with temperature, top-k
// and top-p (nucleus). The same seed and logits always give the same token.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace qforge {

struct SamplerOptions {
  float temperature = 0.0f;  // <= 0: greedy (argmax)
  int top_k = 40;            // <= 0: no limit
  float top_p = 0.95f;       // >= 1: no limit
  uint64_t seed = 42;
};

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) {}
  int32_t Sample(std::span<const float> logits);

 private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// Index of the largest value (the first one on ties).
int32_t Argmax(std::span<const float> values);

}  // namespace qforge
