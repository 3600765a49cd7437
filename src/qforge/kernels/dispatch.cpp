#include "qforge/kernels/dispatch.h"

#include "qforge/core/fp16.h"
#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge {

namespace {

bool IsaAvailable(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(BestIsa()); }

VecDotFn Avx2VecDot(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return avx2::VecDotF32;
    case GgmlType::F16: return avx2::VecDotF16;
    case GgmlType::BF16: return avx2::VecDotBF16;
    case GgmlType::Q8_0: return avx2::VecDotQ8_0;
    case GgmlType::Q4_1: return avx2::VecDotQ4_1;
    default: return nullptr;
  }
}

VecDotFn Avx512VecDot(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return avx512::VecDotF32;
    case GgmlType::F16: return avx512::VecDotF16;
    case GgmlType::BF16: return avx512::VecDotBF16;
    default: break;
  }
  // The integer kernels use VPDPBUSD; without VNNI the AVX2 ones are used.
  if (!DetectCpu().avx512_vnni) return nullptr;
  switch (type) {
    case GgmlType::Q8_0: return avx512::VecDotQ8_0;
    case GgmlType::Q4_1: return avx512::VecDotQ4_1;
    default: return nullptr;
  }
}

void ScaleAddF16Ref(float* acc, float scale, const uint16_t* v, float weight, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] = acc[i] * scale + Fp16ToFp32(v[i]) * weight;
}

void ConvertF32ToF16Ref(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = Fp32ToFp16(x[i]);
}

}  // namespace

VecDotFn VecDotForIsa(GgmlType weight_type, Isa isa) {
  if (!IsaAvailable(isa)) return nullptr;
  switch (isa) {
    case Isa::kScalar: {
      const FormatOps* ops = FindFormatOps(weight_type);
      return ops ? ops->vec_dot_ref : nullptr;
    }
    case Isa::kAvx2: return Avx2VecDot(weight_type);
    case Isa::kAvx512: return Avx512VecDot(weight_type);
  }
  return nullptr;
}

VecDotFn SelectVecDot(GgmlType weight_type) {
  for (int isa = static_cast<int>(BestIsa()); isa >= 0; --isa) {
    if (VecDotFn fn = VecDotForIsa(weight_type, static_cast<Isa>(isa))) return fn;
  }
  return nullptr;
}

HalfKernels HalfKernelsForIsa(Isa isa) {
  switch (isa) {
    case Isa::kAvx512: return {avx512::VecDotF16, avx512::ScaleAddF16, avx512::ConvertF32ToF16};
    case Isa::kAvx2: return {avx2::VecDotF16, avx2::ScaleAddF16, avx2::ConvertF32ToF16};
    case Isa::kScalar: break;
  }
  return {FindFormatOps(GgmlType::F16)->vec_dot_ref, ScaleAddF16Ref, ConvertF32ToF16Ref};
}

const HalfKernels& SelectHalfKernels() {
  static const HalfKernels kernels = HalfKernelsForIsa(BestIsa());  // thread-safe static init
  return kernels;
}

}  // namespace qforge
