// IQ4_NL and IQ4_XS: 4-bit codes indexing a fixed non-uniform grid of 16 values, scaled per
// 32 values (IQ4_NL: half scale per block; IQ4_XS: 6-bit sub-scales of a half super-scale).
#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/formats/iq4_grid.h"
#include "qforge/quant/block_weights.h"
#include "qforge/quant/fit.h"
#include "qforge/quant/quantize_internal.h"
#include "qforge/quant/two_level_fit.h"

namespace qforge::quant_internal {

void QuantizeRowIQ4_NL(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockIQ4_NL*>(out);
  float w[kQK];
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* xb = x + b * kQK;
    BlockWeights(weighting, b * kQK, xb, kQK, kQK, w);
    uint8_t idx[kQK];
    const ScaleFit fit = FitScaleOnGrid({xb, kQK}, {w, kQK}, {kIq4Grid, 16}, idx);
    blocks[b].d = Fp32ToFp16(fit.d);
    const float d = Fp16ToFp32(blocks[b].d);
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < kQK; ++i) idx[i] = static_cast<uint8_t>(NearestGridIndex(xb[i] * inv));
    for (int j = 0; j < kQK / 2; ++j) blocks[b].qs[j] = static_cast<uint8_t>(idx[j] | (idx[j + 16] << 4));
  }
}

void QuantizeRowIQ4_XS(const float* x, void* out, int64_t n, const RowWeighting& weighting) {
  auto* blocks = static_cast<BlockIQ4_XS*>(out);
  SymmetricSpec spec{8, 32, 0, 0, -32, 31};
  spec.grid = kIq4Grid;
  float w[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float* xb = x + b * kQK_K;
    BlockWeights(weighting, b * kQK_K, xb, kQK_K, spec.sub_size, w);
    const SymmetricResult r = FitSymmetricSuperBlock(xb, w, spec);
    BlockIQ4_XS& blk = blocks[b];
    blk.d = r.d16;
    // 6-bit sub-scales stored with a +32 bias: low nibbles in scales_l, top 2 bits in scales_h.
    blk.scales_h = 0;
    std::memset(blk.scales_l, 0, sizeof blk.scales_l);
    for (int j = 0; j < 8; ++j) {
      const int s = r.L[j] + 32;
      blk.scales_l[j / 2] |= static_cast<uint8_t>((s & 0x0F) << (4 * (j % 2)));
      blk.scales_h |= static_cast<uint16_t>((s >> 4) << (2 * j));
    }
    for (int j = 0; j < 8; ++j) {
      for (int l = 0; l < 16; ++l) {
        blk.qs[16 * j + l] = static_cast<uint8_t>(r.codes[32 * j + l] | (r.codes[32 * j + 16 + l] << 4));
      }
    }
  }
}

}  // namespace qforge::quant_internal
