#include "qforge/model/generate.h"

#include <algorithm>
#include <chrono>

namespace qforge {

size_t CompleteUtf8Prefix(std::string_view s) {
  // Walk back over at most 3 continuation bytes to the last lead byte and check its length.
  size_t i = s.size();
  int continuation = 0;
  while (i > 0 && continuation < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++continuation;
  }
  if (i == 0) return continuation ? 0 : s.size();
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  const int need = lead < 0x80 ? 0 : (lead >> 5) == 6 ? 1 : (lead >> 4) == 14 ? 2 : (lead >> 3) == 30 ? 3 : 0;
  return continuation >= need ? s.size() : i - 1;
}

GenerationStream::GenerationStream(const Tokenizer& tokenizer, const GenerateOptions& options)
    : tokenizer_(tokenizer), options_(options), sampler_(options.sampler), done_(options.max_tokens <= 0) {}

std::optional<int32_t> GenerationStream::Step(std::span<const float> logits) {
  if (done_) return std::nullopt;
  const int32_t token = sampler_.Sample(logits);
  if (tokenizer_.IsEndOfGeneration(token)) {
    done_ = stopped_ = true;
    return std::nullopt;
  }
  tokens_.push_back(token);
  text_ += tokenizer_.TokenToPiece(token);
  bool stop_hit = false;
  for (const auto& stop : options_.stop) {
    const size_t at = stop.empty() ? std::string::npos : text_.find(stop);
    if (at != std::string::npos) {
      text_.resize(at);
      stop_hit = true;
    }
  }
  complete_ = stop_hit ? text_.size() : std::max(complete_, CompleteUtf8Prefix(text_));
  if (stop_hit) {
    done_ = stopped_ = true;
    return std::nullopt;
  }
  if (static_cast<int>(tokens_.size()) >= options_.max_tokens) {
    done_ = true;
    return std::nullopt;
  }
  return token;
}

std::string_view GenerationStream::TakeNewText() {
  // Once generation has ended the partial character at the end is final too.
  const size_t end = done_ ? text_.size() : std::min(complete_, text_.size());
  if (end <= emitted_) return {};
  const std::string_view piece = std::string_view(text_).substr(emitted_, end - emitted_);
  emitted_ = end;
  return piece;
}

Expected<GenerateResult> Generate(InferenceContext& ctx, const Tokenizer& tokenizer,
                                  std::span<const int32_t> prompt, const GenerateOptions& options,
                                  const TextSink& sink) {
  using Clock = std::chrono::steady_clock;
  GenerateResult result;
  result.n_prompt = static_cast<int>(prompt.size());
  if (prompt.empty()) return MakeError("empty prompt");
  GenerationStream stream(tokenizer, options);
  std::vector<float> logits;
  auto t0 = Clock::now();
  QF_RETURN_IF_ERROR(ctx.Evaluate(prompt, prompt.size() - 1, &logits));
  result.prompt_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  auto t_gen = Clock::now();
  auto t_last = t_gen;
  while (!stream.done()) {
    const size_t had = stream.tokens().size();
    const std::optional<int32_t> next = stream.Step(logits);
    if (sink) {
      if (const std::string_view piece = stream.TakeNewText(); !piece.empty()) sink(piece);
    }
    if (stream.tokens().size() > had) {
      const auto now = Clock::now();
      result.token_seconds.push_back(std::chrono::duration<double>(now - t_last).count());
      t_last = now;
    }
    if (!next) break;
    if (ctx.n_past() >= ctx.n_ctx()) {
      stream.End();
      if (sink) {
        if (const std::string_view rest = stream.TakeNewText(); !rest.empty()) sink(rest);
      }
      break;
    }
    QF_RETURN_IF_ERROR(ctx.Evaluate(std::span<const int32_t>(&*next, 1), 0, &logits));
  }
  result.generate_seconds = std::chrono::duration<double>(Clock::now() - t_gen).count();
  result.tokens = stream.tokens();
  result.text = stream.text();
  result.stopped = stream.stopped();
  return result;
}

}  // namespace qforge
