// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: super-blocks of 256 values whose sub-blocks carry integer
// scales (and minimums) relative to half-precision super-block scales. Fitting is done by
// quant/two_level_fit; this file maps each format's numbers and bit packing.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/quant/block_weights.h"
#include "qforge/quant/quantize_internal.h"
#include "qforge/quant/two_level_fit.h"

namespace qforge::quant_internal {

namespace {

// Q4_K/Q5_K keep eight 6-bit scales and eight 6-bit minimums in 12 bytes: entries 0-3 in the
// low 6 bits of bytes 0-3 (scales) and 4-7 (minimums); entries 4-7 split into a low nibble in
// bytes 8-11 (scale low, minimum high) and their top 2 bits in the spare bits of bytes 0-7.
void PackScalesMins6(const int* L, const int* M, uint8_t* out) {
  for (int j = 0; j < 4; ++j) {
    out[j] = static_cast<uint8_t>(L[j]);
    out[j + 4] = static_cast<uint8_t>(M[j]);
  }
  for (int j = 4; j < 8; ++j) {
    out[j + 4] = static_cast<uint8_t>((L[j] & 0x0F) | ((M[j] & 0x0F) << 4));
    out[j - 4] |= static_cast<uint8_t>((L[j] >> 4) << 6);
    out[j] |= static_cast<uint8_t>((M[j] >> 4) << 6);
  }
}

}  // namespace

void QuantizeRowQ2_K(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ2_K*>(out);
  const AffineSpec spec{16, 16, 3, 15, 15};
  float w[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xb = x + b * kQK_K;
    BlockWeights(weighting, b * kQK_K, xb, kQK_K, spec.sub_size, w);
    const AffineResult r = FitAffineSuperBlock(xb, w, spec);
    BlockQ2_K& blk = blocks[b];
    blk.d = r.d16;
    blk.dmin = r.dmin16;
    for (int j = 0; j < 16; ++j) blk.scales[j] = static_cast<uint8_t>(r.L[j] | (r.M[j] << 4));
    // Value e = 128 h + 32 k + l (l < 32) sits in bits 2k of qs[32 h + l].
    std::memset(blk.qs, 0, sizeof blk.qs);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, k = (e % 128) / 32, l = e % 32;
      blk.qs[32 * h + l] |= static_cast<uint8_t>(r.codes[e] << (2 * k));
    }
  }
}

void QuantizeRowQ3_K(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ3_K*>(out);
  const SymmetricSpec spec{16, 16, -4, 3, -32, 31};
  float w[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xb = x + b * kQK_K;
    BlockWeights(weighting, b * kQK_K, xb, kQK_K, spec.sub_size, w);
    const SymmetricResult r = FitSymmetricSuperBlock(xb, w, spec);
    BlockQ3_K& blk = blocks[b];
    blk.d = r.d16;
    // Sixteen 6-bit scales stored with a +32 bias: low nibbles of scales 0-7 and 8-15 share
    // bytes 0-7, the top 2 bits of scale j go to byte 8 + j % 4 at bit 2 * (j / 4).
    std::memset(blk.scales, 0, sizeof blk.scales);
    for (int j = 0; j < 16; ++j) {
      const int s = r.L[j] + 32;
      blk.scales[j % 8] |= static_cast<uint8_t>((s & 0x0F) << (j < 8 ? 0 : 4));
      blk.scales[8 + j % 4] |= static_cast<uint8_t>((s >> 4) << (2 * (j / 4)));
    }
    // Code c in [-4, 3] is stored as c + 4: its low 2 bits like Q2_K, its third bit in hmask
    // (byte l % 32 of the half's position, bit 4 h + k).
    std::memset(blk.qs, 0, sizeof blk.qs);
    std::memset(blk.hmask, 0, sizeof blk.hmask);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, k = (e % 128) / 32, l = e % 32;
      const int u = r.codes[e] + 4;
      blk.qs[32 * h + l] |= static_cast<uint8_t>((u & 3) << (2 * k));
      if (u & 4) blk.hmask[l] |= static_cast<uint8_t>(1 << (4 * h + k));
    }
  }
}

void QuantizeRowQ4_K(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ4_K*>(out);
  const AffineSpec spec{8, 32, 15, 63, 63};
  float w[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xb = x + b * kQK_K;
    BlockWeights(weighting, b * kQK_K, xb, kQK_K, spec.sub_size, w);
    const AffineResult r = FitAffineSuperBlock(xb, w, spec);
    BlockQ4_K& blk = blocks[b];
    blk.d = r.d16;
    blk.dmin = r.dmin16;
    PackScalesMins6(r.L, r.M, blk.scales);
    // Value e = 64 c + 32 h + l: nibble h of qs[32 c + l].
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        blk.qs[32 * c + l] = static_cast<uint8_t>(r.codes[64 * c + l] | (r.codes[64 * c + 32 + l] << 4));
      }
    }
  }
}

void QuantizeRowQ5_K(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ5_K*>(out);
  const AffineSpec spec{8, 32, 31, 63, 63};
  float w[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xb = x + b * kQK_K;
    BlockWeights(weighting, b * kQK_K, xb, kQK_K, spec.sub_size, w);
    const AffineResult r = FitAffineSuperBlock(xb, w, spec);
    BlockQ5_K& blk = blocks[b];
    blk.d = r.d16;
    blk.dmin = r.dmin16;
    PackScalesMins6(r.L, r.M, blk.scales);
    // Low 4 bits as Q4_K; the fifth bit of value e = 64 c + 32 h + l is bit 2c + h of qh[l].
    std::memset(blk.qh, 0, sizeof blk.qh);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = r.codes[64 * c + l], hi = r.codes[64 * c + 32 + l];
        blk.qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
        blk.qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

void QuantizeRowQ6_K(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockQ6_K*>(out);
  const SymmetricSpec spec{16, 16, -32, 31, -128, 127};
  float w[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xb = x + b * kQK_K;
    BlockWeights(weighting, b * kQK_K, xb, kQK_K, spec.sub_size, w);
    const SymmetricResult r = FitSymmetricSuperBlock(xb, w, spec);
    BlockQ6_K& blk = blocks[b];
    blk.d = r.d16;
    for (int j = 0; j < 16; ++j) blk.scales[j] = static_cast<int8_t>(r.L[j]);
    // Value e = 128 h + 32 k + l, stored as code + 32: low nibble in ql[64 h + 32 (k % 2) + l]
    // (high nibble of that byte for k >= 2), top 2 bits in qh[32 h + l] at bit 2k.
    std::memset(blk.ql, 0, sizeof blk.ql);
    std::memset(blk.qh, 0, sizeof blk.qh);
    for (int e = 0; e < kQK_K; ++e) {
      const int h = e / 128, k = (e % 128) / 32, l = e % 32;
      const int u = r.codes[e] + 32;
      blk.ql[64 * h + 32 * (k % 2) + l] |= static_cast<uint8_t>((u & 0x0F) << (k >= 2 ? 4 : 0));
      blk.qh[32 * h + l] |= static_cast<uint8_t>((u >> 4) << (2 * k));
    }
  }
}

}  // namespace qforge::quant_internal
