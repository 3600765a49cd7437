#include "qforge/calib/calibrate.h"

#include <fmt/format.h>

namespace qforge {

Expected<CalibrationResult> CollectImatrix(InferenceContext& ctx, std::span<const int32_t> tokens,
                                           const CalibrationOptions& options,
                                           const ProgressFn& progress) {
  const int n_ctx = options.n_ctx;
  if (n_ctx > ctx.n_ctx()) return MakeError("calibration context exceeds the inference context");
  int n_chunks = static_cast<int>(tokens.size() / static_cast<size_t>(n_ctx));
  if (options.max_chunks >= 0) n_chunks = std::min(n_chunks, options.max_chunks);
  if (n_chunks < 1) {
    return MakeError(fmt::format("the calibration text has {} tokens, fewer than one chunk of {}",
                                 tokens.size(), n_ctx));
  }
  CalibrationResult result;
  result.n_chunks = n_chunks;
  ImatrixCollector& collector = result.collector;
  // Like llama-imatrix: only the transformer blocks' weights (and optionally the output head),
  // and only multiplications over at least 16 rows, so generation-time calls never count.
  ctx.set_observer([&](const WeightMatrix& w, const float* x, int64_t n_rows) {
    if (w.name == nullptr || n_rows < 16) return;
    const bool in_block = w.name->rfind("blk.", 0) == 0;
    const bool is_output = *w.name == "output.weight" || *w.name == "token_embd.weight";
    if (in_block || (options.include_output && is_output)) collector.Observe(w, x, n_rows);
  });
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  std::vector<float> logits;
  Status status;
  for (int c = 0; c < n_chunks && status.ok(); ++c) {
    const int32_t* src = tokens.data() + static_cast<size_t>(c) * n_ctx;
    std::copy(src, src + n_ctx, chunk.begin());
    if (options.bos) chunk[0] = *options.bos;
    ctx.Truncate(0);
    // Logits are only computed when the output head is calibrated too.
    status = ctx.Evaluate(chunk, 0, options.include_output ? &logits : nullptr);
    if (progress) progress(static_cast<size_t>(c + 1), static_cast<size_t>(n_chunks));
  }
  ctx.set_observer(nullptr);
  QF_RETURN_IF_ERROR(status);
  QF_RETURN_IF_ERROR(collector.CheckFinite());
  return result;
}

}  // namespace qforge
