// The attention loops of every ISA against float64 arithmetic on the same half-precision keys
// and values, and against the scalar reference bit for bit: head sizes with and without a tail
// past the vector width, query groups below and above the four a kernel call handles at once,
// key counts from one to past several full blocks of every ISA with partial blocks after.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "qforge/core/fp16.h"
#include "qforge/kernels/attention.h"

namespace qforge {
namespace {

std::vector<Isa> IsasToTest() {
  std::vector<Isa> isas = {Isa::kScalar};
  if (static_cast<int>(BestIsa()) >= static_cast<int>(Isa::kAvx2)) isas.push_back(Isa::kAvx2);
  if (static_cast<int>(BestIsa()) >= static_cast<int>(Isa::kAvx512)) isas.push_back(Isa::kAvx512);
  return isas;
}

std::vector<uint16_t> RandomHalves(std::mt19937& rng, size_t n) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<uint16_t> out(n);
  for (auto& h : out) h = Fp32ToFp16(normal(rng));
  return out;
}

TEST(AttentionKernels, ScoresMatchFloat64AndTheReferenceBitForBit) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const AttentionKernels ref = AttentionKernelsForIsa(Isa::kScalar);
  for (Isa isa : IsasToTest()) {
    const AttentionKernels k = AttentionKernelsForIsa(isa);
    for (int hd : {64, 20}) {
      for (int n_q : {1, 2, 3, 4, 6}) {
        for (int n_keys : {1, 9, 70, 200}) {
          // Transposed keys: hd rows of `stride` positions, the first at offset 1 (misaligned).
          const size_t stride = static_cast<size_t>(n_keys) + 5;
          const auto kt = RandomHalves(rng, stride * hd + 1);
          std::vector<float> q(static_cast<size_t>(n_q) * hd);
          for (auto& v : q) v = normal(rng);
          std::vector<float> scores(static_cast<size_t>(n_q) * n_keys, NAN), expected(scores.size());
          const float scale = 0.125f;
          k.scores(q.data(), n_q, hd, kt.data() + 1, stride, n_keys, scale, scores.data());
          ref.scores(q.data(), n_q, hd, kt.data() + 1, stride, n_keys, scale, expected.data());
          for (int g = 0; g < n_q; ++g) {
            for (int t = 0; t < n_keys; ++t) {
              double exact = 0.0, magnitude = 0.0;
              for (int j = 0; j < hd; ++j) {
                const double prod = static_cast<double>(q[g * hd + j]) * Fp16ToFp32(kt[1 + j * stride + t]);
                exact += prod;
                magnitude += std::fabs(prod);
              }
              const float got = scores[g * n_keys + t];
              // Float32 accumulation of hd products: a few ulp of the sum of magnitudes.
              EXPECT_NEAR(got, scale * exact, scale * magnitude * 1e-6 + 1e-30)
                  << IsaName(isa) << " hd=" << hd << " n_q=" << n_q << " g=" << g << " t=" << t;
              EXPECT_EQ(FloatToBits(got), FloatToBits(expected[g * n_keys + t]))
                  << IsaName(isa) << " hd=" << hd << " n_q=" << n_q << " n_keys=" << n_keys << " g=" << g << " t=" << t;
            }
          }
        }
      }
    }
  }
}

TEST(AttentionKernels, RowMaxFindsTheLargest) {
  std::mt19937 rng(10);
  std::normal_distribution<float> normal(0.0f, 10.0f);
  for (Isa isa : IsasToTest()) {
    const AttentionKernels k = AttentionKernelsForIsa(isa);
    for (int n : {1, 2, 15, 16, 17, 33, 100}) {
      for (int where : {0, n / 2, n - 1}) {
        std::vector<float> p(static_cast<size_t>(n));
        for (auto& v : p) v = normal(rng) - 100.0f;
        p[static_cast<size_t>(where)] = 5.0f;
        EXPECT_EQ(k.max(p.data(), n), 5.0f) << IsaName(isa) << " n=" << n << " at " << where;
      }
    }
  }
}

TEST(AttentionKernels, ExpSumWithinFourUlpOfExp) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> uniform(-80.0f, 0.0f);
  for (Isa isa : IsasToTest()) {
    const AttentionKernels k = AttentionKernelsForIsa(isa);
    for (int n : {1, 7, 8, 37}) {
      std::vector<float> p(static_cast<size_t>(n));
      for (auto& v : p) v = uniform(rng) + 3.0f;
      p[0] = 3.0f;  // the maximum itself: e^0 = 1 exactly
      const std::vector<float> x = p;
      const float sum = k.exp_sum(p.data(), n, 3.0f);
      double exact_sum = 0.0;
      for (int t = 0; t < n; ++t) {
        const double exact = std::exp(static_cast<double>(x[t]) - 3.0);
        exact_sum += exact;
        EXPECT_NEAR(p[t], exact, 4.0 * std::ldexp(exact, -23)) << IsaName(isa) << " x=" << x[t] - 3.0f;
      }
      EXPECT_EQ(p[0], 1.0f) << IsaName(isa);
      EXPECT_NEAR(sum, exact_sum, exact_sum * n * 2e-7) << IsaName(isa) << " n=" << n;
    }
  }
}

TEST(AttentionKernels, WeightedValuesMatchFloat64AndTheReferenceBitForBit) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  const AttentionKernels ref = AttentionKernelsForIsa(Isa::kScalar);
  for (Isa isa : IsasToTest()) {
    const AttentionKernels k = AttentionKernelsForIsa(isa);
    for (int hdv : {256, 64, 80, 24, 5}) {
      for (int n_q : {1, 3, 4, 5}) {
        for (int n_keys : {1, 33}) {
          const size_t stride = static_cast<size_t>(hdv) + 7;
          const auto values = RandomHalves(rng, stride * n_keys + 1);
          std::vector<float> p(static_cast<size_t>(n_q) * n_keys);
          for (auto& v : p) v = uniform(rng);
          std::vector<float> out(static_cast<size_t>(n_q) * hdv, -1.0f), expected(out.size());
          k.weighted_values(p.data(), n_q, n_keys, values.data() + 1, stride, hdv, out.data());
          ref.weighted_values(p.data(), n_q, n_keys, values.data() + 1, stride, hdv, expected.data());
          for (int g = 0; g < n_q; ++g) {
            for (int j = 0; j < hdv; ++j) {
              double exact = 0.0, magnitude = 0.0;
              for (int t = 0; t < n_keys; ++t) {
                const double prod = static_cast<double>(p[g * n_keys + t]) * Fp16ToFp32(values[1 + t * stride + j]);
                exact += prod;
                magnitude += std::fabs(prod);
              }
              EXPECT_NEAR(out[g * hdv + j], exact, magnitude * 4e-6 + 1e-30)
                  << IsaName(isa) << " hdv=" << hdv << " n_q=" << n_q << " g=" << g << " j=" << j;
              EXPECT_EQ(FloatToBits(out[g * hdv + j]), FloatToBits(expected[g * hdv + j]))
                  << IsaName(isa) << " hdv=" << hdv << " n_q=" << n_q << " g=" << g << " j=" << j;
            }
          }
        }
      }
    }
  }
}

TEST(AttentionKernels, HalfConversionRoundsToNearest) {
  for (Isa isa : IsasToTest()) {
    const AttentionKernels k = AttentionKernelsForIsa(isa);
    const std::vector<float> x = {0.0f, 1.0f, -2.5f, 1.0f + 1.0f / 4096, 65504.0f, 1e-6f, 3.14159f, -0.1f, 7.0f};
    std::vector<uint16_t> out(x.size());
    k.from_f32(x.data(), out.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(out[i], Fp32ToFp16(x[i])) << IsaName(isa) << " x=" << x[i];
  }
}

}  // namespace
}  // namespace qforge
