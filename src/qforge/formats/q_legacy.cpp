// The 32-value block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (weights) and Q8_1 (activations).
// Dequantization reproduces llama.cpp's arithmetic exactly; the reference quantizers are plain
// round-to-nearest with llama.cpp's scale choice; the dot products are the scalar reference
// the SIMD kernels are tested against: an exact integer sum per block, then its float scales.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "qforge/core/fp16.h"
#include "qforge/formats/blocks.h"
#include "qforge/formats/format_impls.h"

namespace qforge::formats {

namespace {

// Nibble j of a block holds value j (low) and value j + 16 (high).
inline int LowNibble(const uint8_t* qs, int j) { return qs[j] & 0x0F; }
inline int HighNibble(const uint8_t* qs, int j) { return qs[j] >> 4; }

// Fifth bit of value j from the 32-bit mask.
inline int FifthBit(const uint8_t* qh, int j) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  return static_cast<int>((bits >> j) & 1) << 4;
}

// The value of largest magnitude, with its sign (the first one on ties).
float SignedMax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

void MinMax(const float* x, int n, float* lo, float* hi) {
  *lo = *hi = x[0];
  for (int i = 1; i < n; ++i) {
    *lo = std::min(*lo, x[i]);
    *hi = std::max(*hi, x[i]);
  }
}

void PackCodes(const int* codes, uint8_t* qs, uint8_t* qh) {
  uint32_t high = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    qs[j] = static_cast<uint8_t>((codes[j] & 0x0F) | ((codes[j + 16] & 0x0F) << 4));
  }
  for (int j = 0; j < kQK; ++j) high |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  if (qh != nullptr) std::memcpy(qh, &high, 4);
}

// Activations as llama.cpp's x86 build converts them: scale amax/127, inverse 127/amax, and
// round half to even (VROUNDPS), not the reference's roundf.
float QuantizeBlockQ8(const float* x, int8_t* qs, uint16_t* d_out) {
  float amax = 0.0f;
  for (int i = 0; i < kQK; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float d = amax / 127.0f;
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int i = 0; i < kQK; ++i) qs[i] = static_cast<int8_t>(std::nearbyint(x[i] * id));
  *d_out = Fp32ToFp16(d);
  return d;
}

}  // namespace

// ---- Q4_0: x = d * (q - 8)

void DequantizeQ4_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(LowNibble(b[i].qs, j) - 8) * d;
      dst[j + 16] = static_cast<float>(HighNibble(b[i].qs, j) - 8) * d;
    }
  }
}

void QuantizeQ4_0(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    // The signed extreme maps to -8, so the asymmetric range is used on the wide side.
    const float d = SignedMax(x, kQK) / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int codes[kQK];
    for (int j = 0; j < kQK; ++j) codes[j] = std::min(15, static_cast<int>(x[j] * id + 8.5f));
    b[i].d = Fp32ToFp16(d);
    PackCodes(codes, b[i].qs, nullptr);
  }
}

float VecDotQ4_0(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ4_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      isum += (LowNibble(w[i].qs, j) - 8) * a[i].qs[j] + (HighNibble(w[i].qs, j) - 8) * a[i].qs[j + 16];
    }
    sum += static_cast<float>(isum) * (Fp16ToFp32(w[i].d) * Fp16ToFp32(a[i].d));
  }
  return sum;
}

// ---- Q4_1: x = d * q + m

void DequantizeQ4_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ4_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToFp32(b[i].d), m = Fp16ToFp32(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(LowNibble(b[i].qs, j)) * d + m;
      dst[j + 16] = static_cast<float>(HighNibble(b[i].qs, j)) * d + m;
    }
  }
}

void QuantizeQ4_1(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float lo, hi;
    MinMax(x, kQK, &lo, &hi);
    const float d = (hi - lo) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int codes[kQK];
    for (int j = 0; j < kQK; ++j) codes[j] = std::min(15, static_cast<int>((x[j] - lo) * id + 0.5f));
    b[i].d = Fp32ToFp16(d);
    b[i].m = Fp32ToFp16(lo);
    PackCodes(codes, b[i].qs, nullptr);
  }
}

float VecDotQ4_1(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ4_1*>(wp);
  const auto* a = static_cast<const BlockQ8_1*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      isum += LowNibble(w[i].qs, j) * a[i].qs[j] + HighNibble(w[i].qs, j) * a[i].qs[j + 16];
    }
    // The offset meets the activation sum, which Q8_1 stores as s = d * sum(q).
    sum += (Fp16ToFp32(w[i].d) * Fp16ToFp32(a[i].d)) * static_cast<float>(isum) +
           Fp16ToFp32(w[i].m) * Fp16ToFp32(a[i].s);
  }
  return sum;
}

// ---- Q5_0: x = d * (q - 16), q in 0..31

void DequantizeQ5_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>((LowNibble(b[i].qs, j) | FifthBit(b[i].qh, j)) - 16) * d;
      dst[j + 16] = static_cast<float>((HighNibble(b[i].qs, j) | FifthBit(b[i].qh, j + 16)) - 16) * d;
    }
  }
}

void QuantizeQ5_0(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = SignedMax(x, kQK) / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int codes[kQK];
    for (int j = 0; j < kQK; ++j) codes[j] = std::min(31, static_cast<int>(x[j] * id + 16.5f));
    b[i].d = Fp32ToFp16(d);
    PackCodes(codes, b[i].qs, b[i].qh);
  }
}

float VecDotQ5_0(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ5_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      isum += ((LowNibble(w[i].qs, j) | FifthBit(w[i].qh, j)) - 16) * a[i].qs[j] +
              ((HighNibble(w[i].qs, j) | FifthBit(w[i].qh, j + 16)) - 16) * a[i].qs[j + 16];
    }
    sum += static_cast<float>(isum) * (Fp16ToFp32(w[i].d) * Fp16ToFp32(a[i].d));
  }
  return sum;
}

// ---- Q5_1: x = d * q + m, q in 0..31

void DequantizeQ5_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ5_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToFp32(b[i].d), m = Fp16ToFp32(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(LowNibble(b[i].qs, j) | FifthBit(b[i].qh, j)) * d + m;
      dst[j + 16] = static_cast<float>(HighNibble(b[i].qs, j) | FifthBit(b[i].qh, j + 16)) * d + m;
    }
  }
}

void QuantizeQ5_1(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float lo, hi;
    MinMax(x, kQK, &lo, &hi);
    const float d = (hi - lo) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int codes[kQK];
    for (int j = 0; j < kQK; ++j) codes[j] = std::min(31, static_cast<int>((x[j] - lo) * id + 0.5f));
    b[i].d = Fp32ToFp16(d);
    b[i].m = Fp32ToFp16(lo);
    PackCodes(codes, b[i].qs, b[i].qh);
  }
}

float VecDotQ5_1(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ5_1*>(wp);
  const auto* a = static_cast<const BlockQ8_1*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      isum += (LowNibble(w[i].qs, j) | FifthBit(w[i].qh, j)) * a[i].qs[j] +
              (HighNibble(w[i].qs, j) | FifthBit(w[i].qh, j + 16)) * a[i].qs[j + 16];
    }
    sum += (Fp16ToFp32(w[i].d) * Fp16ToFp32(a[i].d)) * static_cast<float>(isum) +
           Fp16ToFp32(w[i].m) * Fp16ToFp32(a[i].s);
  }
  return sum;
}

// ---- Q8_0: x = d * q (weights and activations)

void DequantizeQ8_0(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_0*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void QuantizeQ8_0(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) QuantizeBlockQ8(x, b[i].qs, &b[i].d);
}

float VecDotQ8_0(int64_t n, const void* wp, const void* ap) {
  const auto* w = static_cast<const BlockQ8_0*>(wp);
  const auto* a = static_cast<const BlockQ8_0*>(ap);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += w[i].qs[j] * a[i].qs[j];
    sum += static_cast<float>(isum) * (Fp16ToFp32(w[i].d) * Fp16ToFp32(a[i].d));
  }
  return sum;
}

// ---- Q8_1 (activations): Q8_0 plus s = d * sum(q)

void DequantizeQ8_1(const void* src, float* dst, int64_t n) {
  const auto* b = static_cast<const BlockQ8_1*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, dst += kQK) {
    const float d = Fp16ToFp32(b[i].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void QuantizeQ8_1(const float* x, void* dst, int64_t n, const float*) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = QuantizeBlockQ8(x, b[i].qs, &b[i].d);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += b[i].qs[j];
    b[i].s = Fp32ToFp16(d * static_cast<float>(sum));
  }
}

}  // namespace qforge::formats
