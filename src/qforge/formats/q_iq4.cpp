// IQ4_NL and IQ4_XS: 4-bit codes indexing the fixed non-uniform grid kIq4Grid. IQ4_NL has a
// half scale per 32 values and pairs with Q8_0 activations; IQ4_XS has 6-bit sub-scales of a
// half super-scale per 256 values and pairs with Q8_K.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/formats/format_impls.h"
#include "qforge/formats/iq4_grid.h"

namespace qforge::formats {

namespace {

// Value j of a 32-value group: low nibble of byte j for j < 16, high nibble of byte j - 16.
inline int GroupCode(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0F : qs[j - 16] >> 4; }

// Round-to-nearest on the grid with the signed extreme mapped to the grid's -127 end.
float GroupScale(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 32; ++j) {
    if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
  }
  return max / static_cast<float>(kIq4Grid[0]);
}

void PackGroup(const float* x, float d, uint8_t* qs) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>(NearestGridIndex(x[j] * id) | (NearestGridIndex(x[j + 16] * id) << 4));
  }
}

inline int IQ4XSScale(const BlockIQ4_XS& b, int j) {
  return ((b.scales_l[j / 2] >> (4 * (j % 2))) & 0x0F) | (((b.scales_h >> (2 * j)) & 3) << 4);
}

}  // namespace

void DequantizeIQ4_NL(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_NL*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(kIq4Grid[GroupCode(b[i].qs, j)]);
  }
}

void QuantizeIQ4_NL(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockIQ4_NL*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    b[i].d = Fp32ToFp16(GroupScale(x));
    PackGroup(x, Fp16ToFp32(b[i].d), b[i].qs);
  }
}

float VecDotIQ4_NL(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockIQ4_NL*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += kIq4Grid[GroupCode(w[i].qs, j)] * a[i].qs[j];
    sum += Fp16ToFp32(w[i].d) * Fp16ToFp32(a[i].d) * static_cast<float>(isum);
  }
  return sum;
}

void DequantizeIQ4_XS(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockIQ4_XS*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < 8; ++j) {
      const float dl = d * static_cast<float>(IQ4XSScale(b[i], j) - 32);
      for (int k = 0; k < 32; ++k) dst[32 * j + k] = dl * static_cast<float>(kIq4Grid[GroupCode(b[i].qs + 16 * j, k)]);
    }
  }
}

void QuantizeIQ4_XS(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockIQ4_XS*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float s[8], sabs = 0.0f, smax = 0.0f;
    for (int j = 0; j < 8; ++j) {
      s[j] = GroupScale(x + 32 * j);
      if (std::fabs(s[j]) > sabs) sabs = std::fabs(s[j]), smax = s[j];
    }
    b[i].d = Fp32ToFp16(smax / -32.0f);
    const float D = Fp16ToFp32(b[i].d);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof b[i].scales_l);
    for (int j = 0; j < 8; ++j) {
      const int L = D != 0.0f ? std::clamp(static_cast<int>(std::nearbyint(s[j] / D)), -32, 31) : 0;
      const int u = L + 32;
      b[i].scales_l[j / 2] |= static_cast<uint8_t>((u & 0x0F) << (4 * (j % 2)));
      b[i].scales_h |= static_cast<uint16_t>((u >> 4) << (2 * j));
      PackGroup(x + 32 * j, D * L, b[i].qs + 16 * j);
    }
  }
}

float VecDotIQ4_XS(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockIQ4_XS*>(wp);
  const auto* a = static_cast<const BlockQ8_K*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0;
    for (int j = 0; j < 8; ++j) {
      int sub = 0;
      for (int k = 0; k < 32; ++k) sub += kIq4Grid[GroupCode(w[i].qs + 16 * j, k)] * a[i].qs[32 * j + k];
      isum += (IQ4XSScale(w[i], j) - 32) * sub;
    }
    sum += Fp16ToFp32(w[i].d) * a[i].d * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace qforge::formats
