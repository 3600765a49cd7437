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
// q_legacy.cpp
QF_DECLARE_WEIGHT_FORMAT(Q4_0);
QF_DECLARE_WEIGHT_FORMAT(Q4_1);
QF_DECLARE_WEIGHT_FORMAT(Q5_0);
QF_DECLARE_WEIGHT_FORMAT(Q5_1);
QF_DECLARE_WEIGHT_FORMAT(Q8_0);
QF_DECLARE_FORMAT(Q8_1);
// q_kquants.cpp
QF_DECLARE_WEIGHT_FORMAT(Q2_K);
QF_DECLARE_WEIGHT_FORMAT(Q3_K);
QF_DECLARE_WEIGHT_FORMAT(Q4_K);
QF_DECLARE_WEIGHT_FORMAT(Q5_K);
QF_DECLARE_WEIGHT_FORMAT(Q6_K);
QF_DECLARE_FORMAT(Q8_K);
// q_iq4.cpp
QF_DECLARE_WEIGHT_FORMAT(IQ4_NL);
QF_DECLARE_WEIGHT_FORMAT(IQ4_XS);

#undef QF_DECLARE_WEIGHT_FORMAT
#undef QF_DECLARE_FORMAT

}  // namespace qforge::formats
