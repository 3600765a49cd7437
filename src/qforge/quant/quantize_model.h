// `qforge quantize`: converts a model to a quantization mix, streaming tensor by tensor (read
// as float, quantize rows on all threads, append to the output, release), so peak memory is
// about the largest tensor plus its output, not the model.
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include "qforge/calib/imatrix.h"
#include "qforge/core/progress.h"
#include "qforge/core/status.h"
#include "qforge/quant/importance.h"
#include "qforge/quant/mixes.h"
#include "qforge/quant/tensor_source.h"

namespace qforge {

struct TensorTypeOverride {
  std::string pattern;  // a regular expression searched in the tensor name
  std::regex regex;
  GgmlType type;
};

struct QuantizeOptions {
  MixInfo mix;
  bool pure = false;                   // every quantizable tensor gets the mix's base type
  const Imatrix* imatrix = nullptr;    // importance per input column, by tensor name
  // `imatrix` was sampled by the model itself (calib/self_calibration.h), not measured on the
  // user's text: the mix picks the types it picks without an imatrix (so files match
  // llama.cpp's data-free output type for type), and the tensors report kSelfMeasured.
  bool imatrix_self_sampled = false;
  std::vector<TensorTypeOverride> overrides;  // first match wins, before shape fallbacks
  int threads = 1;
  // Where the importance matrix has no entry for a tensor (or none is given), derive or
  // estimate the importance from the model's weights (quant/importance.h).
  bool fill_importance_gaps = true;
  // Where a tensor inside the transformer blocks has no measured importance, weight each scale
  // group's largest value more (RowWeighting::protect_group_max).
  bool protect_outliers = true;
  // Use the formats' plain round-to-nearest reference quantizers instead of qforge's fitted
  // ones (for comparisons).
  bool reference_quantizer = false;
};

struct TensorReport {
  std::string name;
  GgmlType type;
  int64_t n_elements = 0;
  uint64_t bytes = 0;
  double seconds = 0.0;
  // sum_j imp_j (w - w')^2 / sum_j imp_j w^2 over the tensor; imp = the importance matrix's
  // entry (1 without one, whatever importance the fit used). Zero for tensors stored unquantized.
  double relative_error = 0.0;
  ImportanceOrigin importance = ImportanceOrigin::kNone;  // what the fit weighted by
  bool quantized = false;
};

struct QuantizeReport {
  std::vector<TensorReport> tensors;
  uint64_t output_bytes = 0;     // file size
  uint64_t n_parameters = 0;
  double seconds = 0.0;
  double bits_per_weight() const;
};

// Parses "REGEX=TYPE" (TYPE a ggml type name such as q6_k or f16).
Expected<TensorTypeOverride> ParseTensorTypeOverride(const std::string& spec);

Expected<QuantizeReport> QuantizeModel(TensorSource& source, const std::string& output_path,
                                       const QuantizeOptions& options,
                                       const ProgressFn& progress = nullptr);

}  // namespace qforge
