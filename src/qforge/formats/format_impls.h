// Per-family implementations behind the format table (formats/registry.cpp). Each family
// lives in its own file; this header only declares them.
#pragma once

#include <cstdint>

namespace qforge::formats {

#define QF_DECLARE_FORMAT(NAME)                                             \
  void Dequantize##NAME(const void* src, float* dst, int64_t n);           \
  void Quantize##NAME(const float* src, void* dst, int64_t n, const float* importance)

#define QF_DECLARE_WEIGHT_FORMAT(NAME) \
  QF_DECLARE_FORMAT(NAME);             \
  float VecDot##NAME(int64_t n, const void* weights, const void* activations)

// float_formats.cpp
QF_DECLARE_WEIGHT_FORMAT(F32);
QF_DECLARE_WEIGHT_FORMAT(F16);
QF_DECLARE_WEIGHT_FORMAT(BF16);

#undef QF_DECLARE_WEIGHT_FORMAT
#undef QF_DECLARE_FORMAT

}  // namespace qforge::formats
