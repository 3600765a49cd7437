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

// One weight row dotted with four activation rows `stride` bytes apart, out[r] for row r;
// each out[r] is bit-identical to the single dot of the same ISA (so results never depend on
// how rows are grouped). Null where the ISA has no such kernel for the type.
using VecDot4Fn = void (*)(int64_t n, const void* weights, const void* activations, size_t stride, float* out);
VecDot4Fn VecDot4ForIsa(GgmlType weight_type, Isa isa);
// The four-row kernel of the ISA SelectVecDot picks, or null.
VecDot4Fn SelectVecDot4(GgmlType weight_type);

// The quantizer of activation rows to `type`: for Q8_0, Q8_1 and Q8_K an AVX2 kernel where
// the CPU has AVX2 (its bytes are the reference's, tested), otherwise the reference in formats/.
QuantizeRowFn SelectActivationQuantizer(GgmlType type);
// Q8_0 activation rows together with each block's code sum (what Q8_0BlockSums computes from
// the bytes), for kernels that need the sums: the AVX2 quantizer has them as it goes. Null
// without AVX2; then quantize and call Q8_0BlockSums.
using QuantizeQ8_0WithSumsFn = void (*)(const float* x, void* dst, int64_t n, int16_t* sums);
QuantizeQ8_0WithSumsFn SelectQ8_0WithSums();

// For F16 weights: kernels that read activation rows already widened to float (exact, so each
// row keeps the single dot's bits) and need not convert them once per weight row. All null
// unless they pair with the single dot SelectVecDot(F16) picks. `tile` dots tile_rows weight
// rows (w_stride bytes apart) with four activation rows: out[k * 4 + r] for weight row k and
// activation row r. `widen` turns float activations into those rows: each value rounded to
// half precision (nearest even, as Fp32ToFp16) and back.
using F16TileFn = void (*)(int64_t n, const void* weights, size_t w_stride, const void* activations,
                           size_t a_stride, float* out);
inline constexpr int kMaxF16TileRows = 4;
struct F16WidenedKernels {
  VecDotFn one = nullptr;
  VecDot4Fn four = nullptr;
  F16TileFn tile = nullptr;
  int tile_rows = 0;
  void (*widen)(const float* x, float* out, int64_t n) = nullptr;
};
F16WidenedKernels SelectF16Widened();

}  // namespace qforge
