// Scalar half-precision conversions (IEEE binary16 and bfloat16), round to nearest even,
// matching what x86 F16C and ggml's reference conversions produce.
#pragma once

#include <cstdint>
#include <cstring>

namespace qforge {

inline float BitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t FloatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// Exact widening conversion of an IEEE half.
inline float Fp16ToFp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f) return BitsToFloat(sign | 0x7f800000 | (mantissa << 13));  // inf/nan
  if (exponent != 0) return BitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return BitsToFloat(sign);
  // Subnormal half: value = mantissa * 2^-24, exact in float.
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
  return sign ? -magnitude : magnitude;
}

// Narrowing conversion with round-to-nearest-even; overflow gives inf, NaN stays NaN.
inline uint16_t Fp32ToFp16(float f) {
  const uint32_t bits = FloatToBits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs_bits = bits & 0x7fffffff;
  if (abs_bits > 0x7f800000) return sign | 0x7e00;          // NaN
  if (abs_bits >= 0x477ff000) return sign | 0x7c00;         // rounds to >= 65520: inf
  if (abs_bits >= 0x38800000) {                             // normal half range
    const uint32_t rounded = abs_bits + 0x0fff + ((abs_bits >> 13) & 1);
    return sign | static_cast<uint16_t>((rounded - 0x38000000) >> 13);
  }
  if (abs_bits < 0x33000000) return sign;                   // below half of the smallest subnormal
  // Subnormal half: shift the full mantissa into place, rounding to nearest even.
  const uint32_t exponent = abs_bits >> 23;
  const uint32_t mantissa = (abs_bits & 0x7fffff) | 0x800000;
  const uint32_t shift = 126 - exponent;  // 14..24
  const uint32_t half = 1u << (shift - 1);
  const uint32_t remainder = mantissa & ((1u << shift) - 1);
  uint32_t result = mantissa >> shift;
  if (remainder > half || (remainder == half && (result & 1))) ++result;
  return sign | static_cast<uint16_t>(result);
}

inline float Bf16ToFp32(uint16_t h) { return BitsToFloat(static_cast<uint32_t>(h) << 16); }

// Round to nearest even; NaN keeps a quiet NaN (as ggml does).
inline uint16_t Fp32ToBf16(float f) {
  const uint32_t bits = FloatToBits(f);
  if ((bits & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((bits >> 16) | 64);
  return static_cast<uint16_t>((bits + (0x7fff + ((bits >> 16) & 1))) >> 16);
}

}  // namespace qforge
