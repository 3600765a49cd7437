// The one place where kernels are chosen for the CPU we run on. Everything else asks here.
#pragma once

#include <cstdint>

#include "qforge/core/cpu_features.h"
#include "qforge/formats/registry.h"

namespace qforge {

// The fastest dot product for a weight type on this CPU (falls back to the scalar reference).
VecDotFn SelectVecDot(GgmlType weight_type);
// The kernel for an explicit ISA (tests compare every ISA against the reference); null when
// there is no kernel for this type at that ISA or the CPU (or QFORGE_ISA) rules it out.
VecDotFn VecDotForIsa(GgmlType weight_type, Isa isa);

// Half-precision helpers of the attention inner loops.
struct HalfKernels {
  VecDotFn dot;  // F16 x F16 -> float
  void (*scale_add)(float* acc, float scale, const uint16_t* v, float weight, int64_t n);
  void (*from_f32)(const float* x, uint16_t* out, int64_t n);
};
const HalfKernels& SelectHalfKernels();
HalfKernels HalfKernelsForIsa(Isa isa);

}  // namespace qforge
