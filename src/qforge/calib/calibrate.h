// Running a model over calibration text to collect an importance matrix, with llama-imatrix's
// chunking: consecutive chunks of n_ctx tokens, each from an empty cache with its first token
// replaced by BOS when the vocabulary adds one; every token's activations are collected.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "qforge/calib/imatrix.h"
#include "qforge/core/progress.h"
#include "qforge/model/context.h"

namespace qforge {

struct CalibrationOptions {
  int n_ctx = 512;
  int max_chunks = -1;
  std::optional<int32_t> bos;
  bool include_output = false;  // also collect for the output head (llama.cpp: --process-output)
};

struct CalibrationResult {
  ImatrixCollector collector;
  int n_chunks = 0;
};

Expected<CalibrationResult> CollectImatrix(InferenceContext& ctx, std::span<const int32_t> tokens,
                                           const CalibrationOptions& options,
                                           const ProgressFn& progress = nullptr);

}  // namespace qforge
