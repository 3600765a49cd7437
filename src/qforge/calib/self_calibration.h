// Calibration without data: the model writes its own calibration text. Several sequences are
// sampled from the model at temperature 1 over the whole vocabulary, each from the start token,
// and the input activations of every weight multiplication along the way (the sampled tokens'
// own forward passes) are collected as an importance matrix. On SmolLM2 such an imatrix is far
// closer to one measured on real text than any estimate from the weights alone
// (docs/decisions.md, "Self-calibration").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qforge/calib/imatrix.h"
#include "qforge/core/progress.h"
#include "qforge/model/model.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge {

struct SelfCalibrationOptions {
  int n_sequences = 16;     // sampled together, one batched forward pass per token
  int sequence_length = 128;  // tokens per sequence, the start token included
  uint64_t seed = 42;       // sequence s samples with seed + s
  int threads = 1;
};

struct SelfCalibrationResult {
  ImatrixCollector collector;  // the blocks' matrices and the output head
  int64_t n_tokens = 0;        // rows observed per matrix
  std::vector<std::vector<int32_t>> sequences;  // the evaluated tokens, start token first
};

// The start token is the vocabulary's BOS, or its end-of-sequence token when it has none.
Expected<SelfCalibrationResult> SelfCalibrate(const Model& model, const Tokenizer& tokenizer,
                                              const SelfCalibrationOptions& options,
                                              const ProgressFn& progress = nullptr);

// Loads the GGUF model at `path` (float matrices as Q8_0, ModelLoadOptions) and samples as
// above; the model is released before it returns. Fails when qforge cannot run the model, or
// when its copy and the KV cache would take more than 80% of the memory available
// (MemAvailable).
Expected<SelfCalibrationResult> SelfCalibrateFile(const std::string& path, const SelfCalibrationOptions& options,
                                                  const ProgressFn& progress = nullptr);

}  // namespace qforge
