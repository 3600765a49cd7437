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
    {GgmlType::Q4_0, DequantizeQ4_0, QuantizeQ4_0, GgmlType::Q8_0, VecDotQ4_0, false},
    {GgmlType::Q4_1, DequantizeQ4_1, QuantizeQ4_1, GgmlType::Q8_1, VecDotQ4_1, false},
    {GgmlType::Q5_0, DequantizeQ5_0, QuantizeQ5_0, GgmlType::Q8_0, VecDotQ5_0, false},
    {GgmlType::Q5_1, DequantizeQ5_1, QuantizeQ5_1, GgmlType::Q8_1, VecDotQ5_1, false},
    {GgmlType::Q8_0, DequantizeQ8_0, QuantizeQ8_0, GgmlType::Q8_0, VecDotQ8_0, false},
    {GgmlType::Q8_1, DequantizeQ8_1, QuantizeQ8_1, GgmlType::Q8_1, nullptr, true},
    {GgmlType::Q2_K, DequantizeQ2_K, QuantizeQ2_K, GgmlType::Q8_K, VecDotQ2_K, false},
    {GgmlType::Q3_K, DequantizeQ3_K, QuantizeQ3_K, GgmlType::Q8_K, VecDotQ3_K, false},
    {GgmlType::Q4_K, DequantizeQ4_K, QuantizeQ4_K, GgmlType::Q8_K, VecDotQ4_K, false},
    {GgmlType::Q5_K, DequantizeQ5_K, QuantizeQ5_K, GgmlType::Q8_K, VecDotQ5_K, false},
    {GgmlType::Q6_K, DequantizeQ6_K, QuantizeQ6_K, GgmlType::Q8_K, VecDotQ6_K, false},
    {GgmlType::Q8_K, DequantizeQ8_K, QuantizeQ8_K, GgmlType::Q8_K, nullptr, true},
    {GgmlType::IQ4_NL, DequantizeIQ4_NL, QuantizeIQ4_NL, GgmlType::Q8_0, VecDotIQ4_NL, false},
    {GgmlType::IQ4_XS, DequantizeIQ4_XS, QuantizeIQ4_XS, GgmlType::Q8_K, VecDotIQ4_XS, false},
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
