#include "qforge/kernels/rope.h"

#include <algorithm>
#include <cmath>

namespace qforge {

namespace {

// YaRN: the range of rotary dimensions whose wavelength falls between the fast and slow
// correction thresholds, relative to the original training context.
float CorrectionDim(int n_rot, int n_ctx_orig, float n_rotations, float base) {
  return n_rot * std::log(n_ctx_orig / (n_rotations * 2.0f * static_cast<float>(M_PI))) /
         (2.0f * std::log(base));
}

}  // namespace

RopeTable::RopeTable(const RopeConfig& config, const float* freq_factors)
    : config_(config), freq_factors_(freq_factors) {
  theta_scale_ = std::pow(config.freq_base, -2.0f / static_cast<float>(config.n_rot));
  if (config.scaling == RopeScaling::kYarn) {
    const float lo = std::floor(CorrectionDim(config.n_rot, config.n_ctx_orig, config.yarn_beta_fast,
                                              config.freq_base));
    const float hi = std::ceil(CorrectionDim(config.n_rot, config.n_ctx_orig, config.yarn_beta_slow,
                                             config.freq_base));
    corr_dims_[0] = std::max(0.0f, lo);
    corr_dims_[1] = std::min(static_cast<float>(config.n_rot - 1), hi);
  }
}

void RopeTable::Compute(int64_t position, float* cos_sin) const {
  // theta_i = position * base^(-2i/n_rot), built by repeated multiplication as llama.cpp does,
  // so angles agree to the last bit with its caches.
  float theta = static_cast<float>(position);
  for (int i = 0; i < config_.n_rot / 2; ++i) {
    const float extrapolated = freq_factors_ ? theta / freq_factors_[i] : theta;
    const float interpolated = config_.freq_scale * extrapolated;
    float angle = interpolated;
    float mscale = config_.yarn_attn_factor;
    if (config_.yarn_ext_factor != 0.0f) {
      const float y = (static_cast<float>(i) - corr_dims_[0]) / std::max(0.001f, corr_dims_[1] - corr_dims_[0]);
      const float ramp = (1.0f - std::min(1.0f, std::max(0.0f, y))) * config_.yarn_ext_factor;
      angle = interpolated * (1.0f - ramp) + extrapolated * ramp;
      mscale *= 1.0f + 0.1f * std::log(1.0f / config_.freq_scale);
    }
    cos_sin[2 * i] = std::cos(angle) * mscale;
    cos_sin[2 * i + 1] = std::sin(angle) * mscale;
    theta *= theta_scale_;
  }
}

void RopeTable::Apply(float* head, const float* cos_sin) const {
  const int half = config_.n_rot / 2;
  for (int i = 0; i < half; ++i) {
    const float c = cos_sin[2 * i], s = cos_sin[2 * i + 1];
    const int a = config_.ordering == RopeOrdering::kNormal ? 2 * i : i;
    const int b = config_.ordering == RopeOrdering::kNormal ? 2 * i + 1 : i + half;
    const float x0 = head[a], x1 = head[b];
    head[a] = x0 * c - x1 * s;
    head[b] = x0 * s + x1 * c;
  }
}

}  // namespace qforge
