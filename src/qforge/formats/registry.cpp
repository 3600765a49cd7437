#include "qforge/formats/registry.h"

#include <array>

#include "qforge/formats/format_impls.h"

namespace qforge {

namespace {

using namespace formats;  // NOLINT: the table names every family's functions

constexpr FormatOps kFormats[] = {
    {GgmlType::F32, DequantizeF32, QuantizeF32, GgmlType::F32, VecDotF32, false},
    {GgmlType::F16, DequantizeF16, QuantizeF16, GgmlType::F16, VecDotF16, false},
    {GgmlType::BF16, DequantizeBF16, QuantizeBF16, GgmlType::BF16, VecDotBF16, false},
};

}  // namespace

const FormatOps* FindFormatOps(GgmlType type) {
  for (const auto& ops : kFormats) {
    if (ops.type == type) return &ops;
  }
  return nullptr;
}

std::span<const FormatOps> AllFormatOps() { return kFormats; }

}  // namespace qforge
