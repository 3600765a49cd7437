// Text generation: evaluate a prompt, then sample tokens one at a time until an end-of-
// generation token, a stop string or the token limit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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

// One sequence's generation, advanced a token at a time by whoever runs the model: Generate
// drives one stream; the eval drives several at once through InferenceContext::DecodeStep.
class GenerationStream {
 public:
  GenerationStream(const Tokenizer& tokenizer, const GenerateOptions& options);

  // Picks the token that follows `logits` (the logits after the latest token) and returns
  // it when it must be evaluated to go on; nullopt once generation has ended (an end token,
  // a stop string or the token limit).
  std::optional<int32_t> Step(std::span<const float> logits);
  bool done() const { return done_; }
  // Ends generation early (the caller ran out of context).
  void End() { done_ = true; }
  // Text completed (whole UTF-8 characters, a stop string cut off) since the last call.
  std::string_view TakeNewText();

  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::string& text() const { return text_; }
  // Ended by an end token or a stop string rather than the limit.
  bool stopped() const { return stopped_; }

 private:
  const Tokenizer& tokenizer_;
  GenerateOptions options_;
  Sampler sampler_;
  std::vector<int32_t> tokens_;
  std::string text_;
  size_t complete_ = 0;  // text_[0, complete_) is whole characters
  size_t emitted_ = 0;   // handed out by TakeNewText
  bool done_ = false;
  bool stopped_ = false;
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
