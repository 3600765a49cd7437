// Text generation: evaluate a prompt, then sample tokens one at a time until an end-of-
// generation token, a stop string or the token limit.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/model/context.h"
#include "qforge/model/sampler.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge {

struct GenerateOptions {
  int max_tokens = 128;
  SamplerOptions sampler;
  std::vector<std::string> stop;  // generation ends after any of these strings appears
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated tokens (the end token excluded)
  std::string text;             // their decoded text, cut before a stop string
  int n_prompt = 0;
  double prompt_seconds = 0.0;
  double generate_seconds = 0.0;
  std::vector<double> token_seconds;  // time to produce each generated token
  bool stopped = false;               // ended by an end token or stop string, not the limit
};

// Receives newly completed text (whole UTF-8 characters) as it is generated.
using TextSink = std::function<void(std::string_view text)>;

// Continues from the context's current state: the prompt is appended after n_past().
Expected<GenerateResult> Generate(InferenceContext& ctx, const Tokenizer& tokenizer,
                                  std::span<const int32_t> prompt, const GenerateOptions& options,
                                  const TextSink& sink = nullptr);

// Length of the longest prefix of `s` that ends on a UTF-8 character boundary.
size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace qforge
