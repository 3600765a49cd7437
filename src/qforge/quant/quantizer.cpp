#include "qforge/quant/quantizer.h"

#include "qforge/quant/quantize_internal.h"

namespace qforge {

RowQuantizerFn FindRowQuantizer(GgmlType type) {
  using namespace quant_internal;  // NOLINT
  switch (type) {
    case GgmlType::Q4_0: return QuantizeRowQ4_0;
    case GgmlType::Q4_1: return QuantizeRowQ4_1;
    case GgmlType::Q5_0: return QuantizeRowQ5_0;
    case GgmlType::Q5_1: return QuantizeRowQ5_1;
    case GgmlType::Q8_0: return QuantizeRowQ8_0;
    case GgmlType::Q2_K: return QuantizeRowQ2_K;
    case GgmlType::Q3_K: return QuantizeRowQ3_K;
    case GgmlType::Q4_K: return QuantizeRowQ4_K;
    case GgmlType::Q5_K: return QuantizeRowQ5_K;
    case GgmlType::Q6_K: return QuantizeRowQ6_K;
    case GgmlType::IQ4_NL: return QuantizeRowIQ4_NL;
    case GgmlType::IQ4_XS: return QuantizeRowIQ4_XS;
    default: return nullptr;
  }
}

}  // namespace qforge
