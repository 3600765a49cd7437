// Sampling from the model's full distribution (temperature 1, no top-k or top-p cut, the
// setting self-calibration uses): each token is drawn with its softmax probability, wherever
// the largest logit sits.
#include "qforge/model/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace qforge {
namespace {

TEST(Sampler, UncutSamplingFollowsTheSoftmax) {
  for (const std::vector<float>& logits : {std::vector<float>{0.0f, 1.0f, 2.0f, -1.0f, 0.5f},
                                           std::vector<float>{3.0f, 1.0f, 2.0f, 3.0f, -2.0f}}) {
    SamplerOptions options;
    options.temperature = 1.0f;
    options.top_k = 0;
    options.top_p = 1.0f;
    options.seed = 11;
    Sampler sampler(options);
    double total = 0.0;
    for (float l : logits) total += std::exp(l);
    const int draws = 40000;
    std::vector<int> counts(logits.size(), 0);
    for (int i = 0; i < draws; ++i) ++counts[static_cast<size_t>(sampler.Sample(logits))];
    for (size_t t = 0; t < logits.size(); ++t) {
      const double p = std::exp(logits[t]) / total;
      const double sigma = std::sqrt(draws * p * (1.0 - p));
      // Five binomial standard deviations: a wrong distribution (say one token dropped or the
      // order used as probability) misses by far more.
      EXPECT_NEAR(counts[t], draws * p, 5.0 * sigma) << "token " << t;
    }
  }
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerOptions options;
  options.temperature = 1.0f;
  options.top_k = 0;
  options.top_p = 1.0f;
  const std::vector<float> logits = {0.3f, -0.2f, 0.9f, 0.1f};
  Sampler a(options), b(options);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Sample(logits), b.Sample(logits));
}

}  // namespace
}  // namespace qforge
