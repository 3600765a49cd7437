// The k-quants: super-blocks of 256 values whose 16- or 32-value sub-blocks carry integer
// scales (and minimums) relative to half-precision super-block scales, and Q8_K, the 8-bit
// activation format they are multiplied with. Dequantization reproduces llama.cpp's
// arithmetic exactly; dot products take an exact integer sum per super-block (sub-block dot
// times sub-block scale), then the float scales.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/formats/format_impls.h"
#include "qforge/formats/kquant_layout.h"

namespace qforge::formats {

namespace {

int RoundClamp(float v, int lo, int hi) {
  return std::clamp(static_cast<int>(std::nearbyint(v)), lo, hi);
}

// Round-to-nearest affine sub-block fit on the min/max grid: x ~ d * q - m, m >= 0.
void MinMaxFit(const float* x, int n, int q_max, float* d, float* m) {
  float lo = std::min(0.0f, *std::min_element(x, x + n));
  const float hi = *std::max_element(x, x + n);
  *d = (hi - lo) / q_max;
  *m = -lo;
}

}  // namespace

// ---- Q8_K (activations): float scale, codes in [-127, 127], sums of each 16 codes

void DequantizeQ8_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    for (int j = 0; j < kQK_K; ++j) dst[j] = b[i].d * b[i].qs[j];
  }
}

void QuantizeQ8_K(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    // llama.cpp scales by -127 / (the value of largest magnitude, signed, first on ties) and
    // rounds half to even; the stored scale is the reciprocal.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK_K; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) {
      b[i].qs[j] = static_cast<int8_t>(std::min(127, static_cast<int>(std::nearbyint(iscale * x[j]))));
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int k = 0; k < 16; ++k) sum += b[i].qs[16 * j + k];
      b[i].bsums[j] = static_cast<int16_t>(sum);
    }
    b[i].d = 1.0f / iscale;
  }
}

// ---- Q2_K: x = d * sc_j * q - dmin * m_j, q in 0..3, 16 sub-blocks of 16

void DequantizeQ2_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ2_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = Fp16ToFp32(b[i].d), dmin = Fp16ToFp32(b[i].dmin);
    for (int e = 0; e < kQK_K; ++e) {
      const uint8_t sc = b[i].scales[e / 16];
      const float dl = d * static_cast<float>(sc & 0x0F), ml = dmin * static_cast<float>(sc >> 4);
      dst[e] = dl * static_cast<float>(Q2Code(b[i].qs, e)) - ml;
    }
  }
}

void QuantizeQ2_K(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float d[16], m[16];
    for (int j = 0; j < 16; ++j) MinMaxFit(x + 16 * j, 16, 3, &d[j], &m[j]);
    const float dmax = *std::max_element(d, d + 16), mmax = *std::max_element(m, m + 16);
    b[i].d = Fp32ToFp16(dmax / 15.0f);
    b[i].dmin = Fp32ToFp16(mmax / 15.0f);
    const float D = Fp16ToFp32(b[i].d), Dmin = Fp16ToFp32(b[i].dmin);
    std::memset(b[i].qs, 0, sizeof b[i].qs);
    for (int j = 0; j < 16; ++j) {
      const int L = D > 0.0f ? RoundClamp(d[j] / D, 0, 15) : 0;
      const int M = Dmin > 0.0f ? RoundClamp(m[j] / Dmin, 0, 15) : 0;
      b[i].scales[j] = static_cast<uint8_t>(L | (M << 4));
      const float dl = D * L, ml = Dmin * M;
      for (int k = 0; k < 16; ++k) {
        const int e = 16 * j + k;
        const int q = dl > 0.0f ? RoundClamp((x[e] + ml) / dl, 0, 3) : 0;
        SetQ2Code(b[i].qs, e, q);
      }
    }
  }
}

float VecDotQ2_K(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ2_K*>(wp);
  const auto* a = static_cast<const BlockQ8_K*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0, mins = 0;
    for (int j = 0; j < 16; ++j) {
      int sub = 0;
      for (int k = 0; k < 16; ++k) sub += Q2Code(w[i].qs, 16 * j + k) * a[i].qs[16 * j + k];
      isum += (w[i].scales[j] & 0x0F) * sub;
      mins += (w[i].scales[j] >> 4) * a[i].bsums[j];
    }
    sum += a[i].d * Fp16ToFp32(w[i].d) * static_cast<float>(isum) -
           a[i].d * Fp16ToFp32(w[i].dmin) * static_cast<float>(mins);
  }
  return sum;
}

// ---- Q3_K: x = d * (s_j - 32) * q, q in -4..3, 16 sub-blocks of 16

void DequantizeQ3_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ3_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = Fp16ToFp32(b[i].d);
    for (int e = 0; e < kQK_K; ++e) {
      const float dl = d * static_cast<float>(Q3Scale(b[i].scales, e / 16) - 32);
      dst[e] = dl * static_cast<float>(Q3Code(b[i].qs, b[i].hmask, e));
    }
  }
}

void QuantizeQ3_K(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float s[16];
    float smax = 0.0f, sabs = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f, max = 0.0f;
      for (int k = 0; k < 16; ++k) {
        if (std::fabs(x[16 * j + k]) > amax) amax = std::fabs(x[16 * j + k]), max = x[16 * j + k];
      }
      s[j] = max / -4.0f;  // the signed extreme takes the code -4
      if (std::fabs(s[j]) > sabs) sabs = std::fabs(s[j]), smax = s[j];
    }
    b[i].d = Fp32ToFp16(smax / -32.0f);
    const float D = Fp16ToFp32(b[i].d);
    std::memset(b[i].scales, 0, sizeof b[i].scales);
    std::memset(b[i].qs, 0, sizeof b[i].qs);
    std::memset(b[i].hmask, 0, sizeof b[i].hmask);
    for (int j = 0; j < 16; ++j) {
      const int L = D != 0.0f ? RoundClamp(s[j] / D, -32, 31) : 0;
      SetQ3Scale(b[i].scales, j, L + 32);
      const float dl = D * L;
      for (int k = 0; k < 16; ++k) {
        const int e = 16 * j + k;
        SetQ3Code(b[i].qs, b[i].hmask, e, dl != 0.0f ? RoundClamp(x[e] / dl, -4, 3) : 0);
      }
    }
  }
}

float VecDotQ3_K(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ3_K*>(wp);
  const auto* a = static_cast<const BlockQ8_K*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      int sub = 0;
      for (int k = 0; k < 16; ++k) sub += Q3Code(w[i].qs, w[i].hmask, 16 * j + k) * a[i].qs[16 * j + k];
      isum += (Q3Scale(w[i].scales, j) - 32) * sub;
    }
    sum += Fp16ToFp32(w[i].d) * a[i].d * static_cast<float>(isum);
  }
  return sum;
}

// ---- Q4_K / Q5_K: x = d * sc_j * q - dmin * m_j, 8 sub-blocks of 32, 6-bit sc and m

namespace {

template <class Block, int kBits>
void DequantizeQ45K(const Block* b, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = Fp16ToFp32(b[i].d), dmin = Fp16ToFp32(b[i].dmin);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      UnpackScaleMin6(b[i].scales, j, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      for (int k = 0; k < 32; ++k) {
        const int e = 32 * j + k;
        int q;
        if constexpr (kBits == 4) q = Q4KCode(b[i].qs, e);
        else q = Q5KCode(b[i].qs, b[i].qh, e);
        dst[e] = d1 * static_cast<float>(q) - m1;
      }
    }
  }
}

template <class Block, int kBits>
void QuantizeQ45K(const float* x, Block* b, int64_t n) {
  constexpr int q_max = (1 << kBits) - 1;
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float d[8], m[8];
    for (int j = 0; j < 8; ++j) MinMaxFit(x + 32 * j, 32, q_max, &d[j], &m[j]);
    b[i].d = Fp32ToFp16(*std::max_element(d, d + 8) / 63.0f);
    b[i].dmin = Fp32ToFp16(*std::max_element(m, m + 8) / 63.0f);
    const float D = Fp16ToFp32(b[i].d), Dmin = Fp16ToFp32(b[i].dmin);
    int L[8], M[8];
    for (int j = 0; j < 8; ++j) {
      L[j] = D > 0.0f ? RoundClamp(d[j] / D, 0, 63) : 0;
      M[j] = Dmin > 0.0f ? RoundClamp(m[j] / Dmin, 0, 63) : 0;
    }
    PackScaleMin6(L, M, b[i].scales);
    if constexpr (kBits == 5) std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int j = 0; j < 8; ++j) {
      const float dl = D * L[j], ml = Dmin * M[j];
      for (int k = 0; k < 32; ++k) {
        const int e = 32 * j + k;
        const int q = dl > 0.0f ? RoundClamp((x[e] + ml) / dl, 0, q_max) : 0;
        if constexpr (kBits == 4) SetQ4KCode(b[i].qs, e, q);
        else SetQ5KCode(b[i].qs, b[i].qh, e, q);
      }
    }
  }
}

template <class Block, int kBits>
float VecDotQ45K(const Block* w, const BlockQ8_K* a, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0, mins = 0;
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      UnpackScaleMin6(w[i].scales, j, &sc, &m);
      int sub = 0;
      for (int k = 0; k < 32; ++k) {
        const int e = 32 * j + k;
        int q;
        if constexpr (kBits == 4) q = Q4KCode(w[i].qs, e);
        else q = Q5KCode(w[i].qs, w[i].qh, e);
        sub += q * a[i].qs[e];
      }
      isum += sc * sub;
      mins += m * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
    }
    sum += Fp16ToFp32(w[i].d) * a[i].d * static_cast<float>(isum) -
           Fp16ToFp32(w[i].dmin) * a[i].d * static_cast<float>(mins);
  }
  return sum;
}

}  // namespace

void DequantizeQ4_K(const void* src, float* dst, int64_t n) {
  DequantizeQ45K<BlockQ4_K, 4>(static_cast<const BlockQ4_K*>(src), dst, n);
}
void QuantizeQ4_K(const float* x, void* dst, int64_t n, const float*) {
  QuantizeQ45K<BlockQ4_K, 4>(x, static_cast<BlockQ4_K*>(dst), n);
}
float VecDotQ4_K(int64_t n, const void* w, const void* a) {
  return VecDotQ45K<BlockQ4_K, 4>(static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a), n);
}
void DequantizeQ5_K(const void* src, float* dst, int64_t n) {
  DequantizeQ45K<BlockQ5_K, 5>(static_cast<const BlockQ5_K*>(src), dst, n);
}
void QuantizeQ5_K(const float* x, void* dst, int64_t n, const float*) {
  QuantizeQ45K<BlockQ5_K, 5>(x, static_cast<BlockQ5_K*>(dst), n);
}
float VecDotQ5_K(int64_t n, const void* w, const void* a) {
  return VecDotQ45K<BlockQ5_K, 5>(static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a), n);
}

// ---- Q6_K: x = d * sc_j * q, q in -32..31, 16 sub-blocks of 16 with int8 scales

void DequantizeQ6_K(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ6_K*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i, dst += kQK_K) {
    const float d = Fp16ToFp32(b[i].d);
    for (int e = 0; e < kQK_K; ++e) {
      dst[e] = d * static_cast<float>(b[i].scales[e / 16]) * static_cast<float>(Q6Code(b[i].ql, b[i].qh, e));
    }
  }
}

void QuantizeQ6_K(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float s[16], sabs = 0.0f, smax = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f, max = 0.0f;
      for (int k = 0; k < 16; ++k) {
        if (std::fabs(x[16 * j + k]) > amax) amax = std::fabs(x[16 * j + k]), max = x[16 * j + k];
      }
      s[j] = max / -32.0f;
      if (std::fabs(s[j]) > sabs) sabs = std::fabs(s[j]), smax = s[j];
    }
    b[i].d = Fp32ToFp16(smax / -128.0f);
    const float D = Fp16ToFp32(b[i].d);
    std::memset(b[i].ql, 0, sizeof b[i].ql);
    std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int j = 0; j < 16; ++j) {
      const int L = D != 0.0f ? RoundClamp(s[j] / D, -128, 127) : 0;
      b[i].scales[j] = static_cast<int8_t>(L);
      const float dl = D * L;
      for (int k = 0; k < 16; ++k) {
        const int e = 16 * j + k;
        SetQ6Code(b[i].ql, b[i].qh, e, dl != 0.0f ? RoundClamp(x[e] / dl, -32, 31) : 0);
      }
    }
  }
}

float VecDotQ6_K(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ6_K*>(wp);
  const auto* a = static_cast<const BlockQ8_K*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      int sub = 0;
      for (int k = 0; k < 16; ++k) sub += Q6Code(w[i].ql, w[i].qh, 16 * j + k) * a[i].qs[16 * j + k];
      isum += w[i].scales[j] * sub;
    }
    sum += Fp16ToFp32(w[i].d) * a[i].d * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace qforge::formats
