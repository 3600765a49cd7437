#include "qforge/kernels/dispatch.h"

#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge {

namespace {

bool IsaAvailable(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(BestIsa()); }

// The integer kernels of one ISA namespace, by weight type.
#define QF_INTEGER_KERNELS(ns)                     \
  case GgmlType::Q8_0: return ns::VecDotQ8_0;     \
  case GgmlType::Q4_0: return ns::VecDotQ4_0;     \
  case GgmlType::Q4_1: return ns::VecDotQ4_1;     \
  case GgmlType::Q5_0: return ns::VecDotQ5_0;     \
  case GgmlType::Q5_1: return ns::VecDotQ5_1;     \
  case GgmlType::IQ4_NL: return ns::VecDotIQ4_NL; \
  case GgmlType::Q2_K: return ns::VecDotQ2_K;     \
  case GgmlType::Q3_K: return ns::VecDotQ3_K;     \
  case GgmlType::Q4_K: return ns::VecDotQ4_K;     \
  case GgmlType::Q5_K: return ns::VecDotQ5_K;     \
  case GgmlType::Q6_K: return ns::VecDotQ6_K;     \
  case GgmlType::IQ4_XS: return ns::VecDotIQ4_XS;

VecDotFn Avx2VecDot(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return avx2::VecDotF32;
    case GgmlType::F16: return avx2::VecDotF16;
    case GgmlType::BF16: return avx2::VecDotBF16;
    QF_INTEGER_KERNELS(avx2)
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
    QF_INTEGER_KERNELS(avx512)
    default: return nullptr;
  }
}

#undef QF_INTEGER_KERNELS

#define QF_INTEGER_KERNELS4(ns)                     \
  case GgmlType::Q8_0: return ns::VecDot4Q8_0;     \
  case GgmlType::Q4_0: return ns::VecDot4Q4_0;     \
  case GgmlType::Q4_1: return ns::VecDot4Q4_1;     \
  case GgmlType::Q5_0: return ns::VecDot4Q5_0;     \
  case GgmlType::Q5_1: return ns::VecDot4Q5_1;     \
  case GgmlType::IQ4_NL: return ns::VecDot4IQ4_NL; \
  case GgmlType::Q2_K: return ns::VecDot4Q2_K;     \
  case GgmlType::Q3_K: return ns::VecDot4Q3_K;     \
  case GgmlType::Q4_K: return ns::VecDot4Q4_K;     \
  case GgmlType::Q5_K: return ns::VecDot4Q5_K;     \
  case GgmlType::Q6_K: return ns::VecDot4Q6_K;     \
  case GgmlType::IQ4_XS: return ns::VecDot4IQ4_XS;

VecDot4Fn Avx2VecDot4(GgmlType type) {
  switch (type) {
    QF_INTEGER_KERNELS4(avx2)
    default: return nullptr;
  }
}

VecDot4Fn Avx512VecDot4(GgmlType type) {
  if (!DetectCpu().avx512_vnni) return nullptr;
  switch (type) {
    QF_INTEGER_KERNELS4(avx512)
    default: return nullptr;
  }
}

#undef QF_INTEGER_KERNELS4

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

VecDot4Fn VecDot4ForIsa(GgmlType weight_type, Isa isa) {
  if (!IsaAvailable(isa)) return nullptr;
  switch (isa) {
    case Isa::kScalar: return nullptr;
    case Isa::kAvx2: return Avx2VecDot4(weight_type);
    case Isa::kAvx512: return Avx512VecDot4(weight_type);
  }
  return nullptr;
}

VecDot4Fn SelectVecDot4(GgmlType weight_type) {
  // The pair must come from one ISA: the four-row kernel matches only its own single dot.
  for (int isa = static_cast<int>(BestIsa()); isa >= 0; --isa) {
    const auto i = static_cast<Isa>(isa);
    if (VecDotForIsa(weight_type, i)) return VecDot4ForIsa(weight_type, i);
  }
  return nullptr;
}

}  // namespace qforge
