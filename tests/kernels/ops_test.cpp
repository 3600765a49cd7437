// The vector SwiGLU against the scalar definition with std::exp, over arguments from deep in
// the negative tail to large positive values, with row lengths that leave vector tails.
#include "qforge/kernels/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace qforge {
namespace {

TEST(SwiGlu, MatchesTheScalarDefinition) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (int64_t n : {1, 7, 8, 13, 1536}) {
    std::vector<float> gate(static_cast<size_t>(n)), up(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      // Arguments spread over [-100, 100] on a log scale, both signs, zero included.
      const float magnitude = i == 0 ? 0.0f : std::pow(10.0f, 2.5f * uniform(rng) - 0.5f);
      gate[static_cast<size_t>(i)] = uniform(rng) < 0.0f ? -magnitude : magnitude;
      up[static_cast<size_t>(i)] = 3.0f * uniform(rng);
    }
    std::vector<float> got = gate, want = gate;
    SwiGlu(got.data(), up.data(), n);
    SwiGluRef(want.data(), up.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const float g = gate[static_cast<size_t>(i)], w = want[static_cast<size_t>(i)];
      // A few ulp of the result: the exponential is within 2 ulp, then one division and two
      // products; below g = -87 the vector exponential stops at e^-87 (results under 1e-35).
      EXPECT_NEAR(got[static_cast<size_t>(i)], w, 6e-7f * std::fabs(w) + 1e-35f) << "g = " << g << ", n = " << n;
    }
  }
}

}  // namespace
}  // namespace qforge
