#include "qforge/kernels/dispatch.h"

#include <span>

#include "qforge/kernels/x86/x86_kernels.h"

namespace qforge {

namespace {

bool IsaAvailable(Isa isa) { return static_cast<int>(isa) <= static_cast<int>(BestIsa()); }

// The integer kernels of one ISA, by weight type: the single dot and the four-row kernel.
struct IntegerKernels {
  GgmlType type;
  VecDotFn dot;
  VecDot4Fn dot4;
};

#define QF_AVX2_ENTRY(T) {GgmlType::T, avx2::VecDot##T, avx2::VecDot4##T},
#define QF_AVX512_ENTRY(T) {GgmlType::T, avx512::VecDot##T, avx512::VecDot4##T},
constexpr IntegerKernels kAvx2Integer[] = {QF_INTEGER_FORMATS(QF_AVX2_ENTRY)};
constexpr IntegerKernels kAvx512Integer[] = {QF_INTEGER_FORMATS(QF_AVX512_ENTRY)};
#undef QF_AVX2_ENTRY
#undef QF_AVX512_ENTRY

// The integer kernels of `isa` for `type`, or null. The AVX-512 ones use VPDPBUSD; without
// VNNI there are none and the AVX2 ones are used.
const IntegerKernels* FindIntegerKernels(Isa isa, GgmlType type) {
  std::span<const IntegerKernels> table;
  if (isa == Isa::kAvx2) table = kAvx2Integer;
  if (isa == Isa::kAvx512 && DetectCpu().avx512_vnni) table = kAvx512Integer;
  for (const IntegerKernels& k : table) {
    if (k.type == type) return &k;
  }
  return nullptr;
}

VecDotFn Avx2VecDot(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return avx2::VecDotF32;
    case GgmlType::F16: return avx2::VecDotF16;
    case GgmlType::BF16: return avx2::VecDotBF16;
    default: break;
  }
  const IntegerKernels* k = FindIntegerKernels(Isa::kAvx2, type);
  return k ? k->dot : nullptr;
}

VecDotFn Avx512VecDot(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return avx512::VecDotF32;
    case GgmlType::F16: return avx512::VecDotF16;
    case GgmlType::BF16: return avx512::VecDotBF16;
    default: break;
  }
  const IntegerKernels* k = FindIntegerKernels(Isa::kAvx512, type);
  return k ? k->dot : nullptr;
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

VecDot4Fn VecDot4ForIsa(GgmlType weight_type, Isa isa) {
  if (!IsaAvailable(isa)) return nullptr;
  if (weight_type == GgmlType::F16) {
    if (isa == Isa::kAvx2) return avx2::VecDot4F16;
    if (isa == Isa::kAvx512) return avx512::VecDot4F16;
    return nullptr;
  }
  const IntegerKernels* k = FindIntegerKernels(isa, weight_type);  // none for the scalar level
  return k ? k->dot4 : nullptr;
}

VecDot4Fn SelectVecDot4(GgmlType weight_type) {
  // The pair must come from one ISA: the four-row kernel matches only its own single dot.
  for (int isa = static_cast<int>(BestIsa()); isa >= 0; --isa) {
    const auto i = static_cast<Isa>(isa);
    if (VecDotForIsa(weight_type, i)) return VecDot4ForIsa(weight_type, i);
  }
  return nullptr;
}

QuantizeQ8_0WithSumsFn SelectQ8_0WithSums() {
  return IsaAvailable(Isa::kAvx2) ? avx2::QuantizeRowQ8_0WithSums : nullptr;
}

QuantizeRowFn SelectActivationQuantizer(GgmlType type) {
  if (IsaAvailable(Isa::kAvx2)) {
    switch (type) {
      case GgmlType::Q8_0: return avx2::QuantizeRowQ8_0;
      case GgmlType::Q8_1: return avx2::QuantizeRowQ8_1;
      case GgmlType::Q8_K: return avx2::QuantizeRowQ8_K;
      default: break;
    }
  }
  const FormatOps* ops = FindFormatOps(type);
  return ops ? ops->quantize_row_ref : nullptr;
}

static_assert(avx512::kF16TileRows <= kMaxF16TileRows);

F16WidenedKernels SelectF16Widened() {
  const VecDotFn single = SelectVecDot(GgmlType::F16);
  if (single == avx2::VecDotF16) {
    return {avx2::VecDotF16Widened, avx2::VecDot4F16Widened, nullptr, 0, avx2::WidenThroughF16};
  }
  if (single == avx512::VecDotF16) {
    return {avx512::VecDotF16Widened, avx512::VecDot4F16Widened, avx512::TileF16Widened, avx512::kF16TileRows,
            avx512::WidenThroughF16};
  }
  return {};
}

}  // namespace qforge
