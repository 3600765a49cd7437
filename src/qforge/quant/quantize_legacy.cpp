// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: one scale (and for the _1 types an offset) per 32 values.
// Scales are fitted exactly (symmetric types) or by refined least squares (types with an
// offset), then stored in half precision; the codes are re-rounded against the stored values
// so that the block reproduces as closely as the stored scale allows.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/quant/block_weights.h"
#include "qforge/quant/fit.h"
#include "qforge/quant/quantize_internal.h"

namespace qforge::quant_internal {

namespace {

// Codes for a stored (half-rounded) scale: the nearest clamped integers.
void RoundCodes(const float* x, float d, int lo, int hi, int8_t* q) {
  const float inv = d != 0.0f ? 1.0f / d : 0.0f;
  for (int i = 0; i < kQK; ++i) q[i] = static_cast<int8_t>(std::clamp(static_cast<int>(std::nearbyint(x[i] * inv)), lo, hi));
}

void RoundAffineCodes(const float* x, float d, float b, int q_max, uint8_t* q) {
  const float inv = d != 0.0f ? 1.0f / d : 0.0f;
  for (int i = 0; i < kQK; ++i) q[i] = static_cast<uint8_t>(std::clamp(static_cast<int>(std::nearbyint((x[i] - b) * inv)), 0, q_max));
}

// Fits one symmetric block; returns the stored half scale and codes in [lo, hi].
// The scales the sweeps consider, relative to the one that maps the largest |x| to the end of
// the grid. The fit is exact within the window; outside it the largest value would be clipped
// by more than half its range or use under 60% of the grid, which loses on every block we
// measured (tests/quant/fit_test.cpp bounds the loss) and costs most of the sweep's events.
constexpr SweepWindow kSmallGridWindow{0.6f, 1.6f};
constexpr SweepWindow kQ8Window{0.95f, 1.1f};

uint16_t FitSymmetricBlock(const float* x, const float* w, int lo, int hi, int8_t* q,
                           SweepWindow window = kSmallGridWindow) {
  const ScaleFit fit = FitScale({x, kQK}, {w, kQK}, lo, hi, q, window);
  const uint16_t d16 = Fp32ToFp16(fit.d);
  RoundCodes(x, Fp16ToFp32(d16), lo, hi, q);
  return d16;
}

void FitAffineBlock(const float* x, const float* w, int q_max, uint16_t* d16, uint16_t* m16,
                    uint8_t* q) {
  const AffineFit fit = FitAffine({x, kQK}, {w, kQK}, q_max, false, q);
  *d16 = Fp32ToFp16(fit.d);
  *m16 = Fp32ToFp16(fit.b);
  RoundAffineCodes(x, Fp16ToFp32(*d16), Fp16ToFp32(*m16), q_max, q);
}

// Nibble packing shared by the 4- and 5-bit types: value j in the low nibble of byte j,
// value j + 16 in the high nibble; the 5th bits (if any) as a 32-bit mask.
void PackNibbles(const uint8_t* codes, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>((codes[j] & 0x0F) | ((codes[j + 16] & 0x0F) << 4));
}
void PackHighBits(const uint8_t* codes, uint8_t* qh) {
  uint32_t bits = 0;
  for (int j = 0; j < kQK; ++j) bits |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  std::memcpy(qh, &bits, 4);
}

}  // namespace

void QuantizeRowQ4_0(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ4_0*>(out);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    float w[kQK];
    BlockWeights(weighting, b * kQK, xb, kQK, kQK, w);
    int8_t q[kQK];
    uint8_t codes[kQK];
    blocks[b].d = FitSymmetricBlock(xb, w, -8, 7, q);
    for (int i = 0; i < kQK; ++i) codes[i] = static_cast<uint8_t>(q[i] + 8);
    PackNibbles(codes, blocks[b].qs);
  }
}

void QuantizeRowQ5_0(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ5_0*>(out);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    float w[kQK];
    BlockWeights(weighting, b * kQK, xb, kQK, kQK, w);
    int8_t q[kQK];
    uint8_t codes[kQK];
    blocks[b].d = FitSymmetricBlock(xb, w, -16, 15, q);
    for (int i = 0; i < kQK; ++i) codes[i] = static_cast<uint8_t>(q[i] + 16);
    PackNibbles(codes, blocks[b].qs);
    PackHighBits(codes, blocks[b].qh);
  }
}

void QuantizeRowQ8_0(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ8_0*>(out);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    float w[kQK];
    BlockWeights(weighting, b * kQK, xb, kQK, kQK, w);
    int8_t q[kQK];
    // 255 levels: the optimum sits within a few percent of amax/127, so sweep only there.
    blocks[b].d = FitSymmetricBlock(xb, w, -127, 127, q, kQ8Window);
    std::memcpy(blocks[b].qs, q, kQK);
  }
}

void QuantizeRowQ4_1(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ4_1*>(out);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    float w[kQK];
    BlockWeights(weighting, b * kQK, xb, kQK, kQK, w);
    uint8_t codes[kQK];
    FitAffineBlock(xb, w, 15, &blocks[b].d, &blocks[b].m, codes);
    PackNibbles(codes, blocks[b].qs);
  }
}

void QuantizeRowQ5_1(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ5_1*>(out);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    float w[kQK];
    BlockWeights(weighting, b * kQK, xb, kQK, kQK, w);
    uint8_t codes[kQK];
    FitAffineBlock(xb, w, 31, &blocks[b].d, &blocks[b].m, codes);
    PackNibbles(codes, blocks[b].qs);
    PackHighBits(codes, blocks[b].qh);
  }
}

}  // namespace qforge::quant_internal
