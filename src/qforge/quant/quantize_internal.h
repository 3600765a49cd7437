// Per-format row quantizers behind quant/quantizer.h's table.
#pragma once

#include <cstdint>

#include "qforge/quant/quantizer.h"

namespace qforge::quant_internal {

#define QF_DECLARE_ROW_QUANTIZER(NAME) \
  void QuantizeRow##NAME(const float* x, void* out, int64_t n, const RowWeighting& weighting)

QF_DECLARE_ROW_QUANTIZER(Q4_0);
QF_DECLARE_ROW_QUANTIZER(Q4_1);
QF_DECLARE_ROW_QUANTIZER(Q5_0);
QF_DECLARE_ROW_QUANTIZER(Q5_1);
QF_DECLARE_ROW_QUANTIZER(Q8_0);
QF_DECLARE_ROW_QUANTIZER(Q2_K);
QF_DECLARE_ROW_QUANTIZER(Q3_K);
QF_DECLARE_ROW_QUANTIZER(Q4_K);
QF_DECLARE_ROW_QUANTIZER(Q5_K);
QF_DECLARE_ROW_QUANTIZER(Q6_K);
QF_DECLARE_ROW_QUANTIZER(IQ4_NL);
QF_DECLARE_ROW_QUANTIZER(IQ4_XS);

#undef QF_DECLARE_ROW_QUANTIZER

}  // namespace qforge::quant_internal
