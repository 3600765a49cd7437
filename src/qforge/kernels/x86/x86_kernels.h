// Declarations of the per-ISA kernels. Each ISA's functions live in files compiled with that
// ISA's flags (avx2_*.cpp, avx512_*.cpp) and are only called after kernels/dispatch.cpp has
// checked the CPU supports them.
#pragma once

#include <cstdint>

namespace qforge {

#define QF_DECLARE_ISA_KERNELS(ns)                                                   \
  namespace ns {                                                                      \
  float VecDotF32(int64_t n, const void* w, const void* a);                           \
  float VecDotF16(int64_t n, const void* w, const void* a);                           \
  float VecDotBF16(int64_t n, const void* w, const void* a);                          \
  /* acc[i] = acc[i] * scale + v[i] * weight for half-precision v */                  \
  void ScaleAddF16(float* acc, float scale, const uint16_t* v, float weight, int64_t n); \
  void ConvertF32ToF16(const float* x, uint16_t* out, int64_t n);                     \
  float VecDotQ8_0(int64_t n, const void* w, const void* a);                          \
  float VecDotQ4_0(int64_t n, const void* w, const void* a);                          \
  float VecDotQ4_1(int64_t n, const void* w, const void* a);                          \
  float VecDotQ5_0(int64_t n, const void* w, const void* a);                          \
  float VecDotQ5_1(int64_t n, const void* w, const void* a);                          \
  float VecDotIQ4_NL(int64_t n, const void* w, const void* a);                        \
  float VecDotQ2_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ3_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ4_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ5_K(int64_t n, const void* w, const void* a);                          \
  float VecDotQ6_K(int64_t n, const void* w, const void* a);                          \
  float VecDotIQ4_XS(int64_t n, const void* w, const void* a);                        \
  }

QF_DECLARE_ISA_KERNELS(avx2)
QF_DECLARE_ISA_KERNELS(avx512)

#undef QF_DECLARE_ISA_KERNELS

}  // namespace qforge
