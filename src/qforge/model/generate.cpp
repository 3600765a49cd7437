#include "qforge/model/generate.h"

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

Expected<GenerateResult> Generate(InferenceContext& ctx, const Tokenizer& tokenizer,
                                  std::span<const int32_t> prompt, const GenerateOptions& options,
                                  const TextSink& sink) {
  using Clock = std::chrono::steady_clock;
  GenerateResult result;
  result.n_prompt = static_cast<int>(prompt.size());
  if (prompt.empty()) return MakeError("empty prompt");
  Sampler sampler(options.sampler);
  std::vector<float> logits;

  auto t0 = Clock::now();
  QF_RETURN_IF_ERROR(ctx.Evaluate(prompt, prompt.size() - 1, &logits));
  result.prompt_seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  std::string decoded;
  size_t emitted = 0;
  auto t_gen = Clock::now();
  auto t_last = t_gen;
  for (int step = 0; step < options.max_tokens; ++step) {
    const int32_t token = sampler.Sample(logits);
    if (tokenizer.IsEndOfGeneration(token)) {
      result.stopped = true;
      break;
    }
    result.tokens.push_back(token);
    decoded += tokenizer.TokenToPiece(token);
    bool stop_hit = false;
    for (const auto& stop : options.stop) {
      const size_t at = stop.empty() ? std::string::npos : decoded.find(stop);
      if (at != std::string::npos) {
        decoded.resize(at);
        stop_hit = true;
      }
    }
    const size_t complete = stop_hit ? decoded.size() : CompleteUtf8Prefix(decoded);
    if (sink && complete > emitted) sink(std::string_view(decoded).substr(emitted, complete - emitted));
    emitted = std::max(emitted, complete);
    const auto now = Clock::now();
    result.token_seconds.push_back(std::chrono::duration<double>(now - t_last).count());
    t_last = now;
    if (stop_hit) {
      result.stopped = true;
      break;
    }
    if (step + 1 == options.max_tokens || ctx.n_past() >= ctx.n_ctx()) break;
    QF_RETURN_IF_ERROR(ctx.Evaluate(std::span<const int32_t>(&token, 1), 0, &logits));
  }
  if (sink && decoded.size() > emitted) sink(std::string_view(decoded).substr(emitted));
  result.generate_seconds = std::chrono::duration<double>(Clock::now() - t_gen).count();
  result.text = std::move(decoded);
  return result;
}

}  // namespace qforge
