#include "qforge/calib/self_calibration.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>
#include <vector>

#include "qforge/core/thread_pool.h"
#include "qforge/model/config.h"
#include "qforge/model/context.h"
#include "qforge/model/sampler.h"

namespace qforge {

Expected<SelfCalibrationResult> SelfCalibrate(const Model& model, const Tokenizer& tokenizer,
                                              const SelfCalibrationOptions& options,
                                              const ProgressFn& progress) {
  const int n_seq = options.n_sequences;
  const int length = options.sequence_length;
  if (n_seq < 1 || length < 2) {
    return MakeError(fmt::format("self-calibration needs at least one sequence of two tokens (got {} of {})",
                                 n_seq, length));
  }
  const int32_t start = tokenizer.bos_id() >= 0 ? tokenizer.bos_id() : tokenizer.eos_id();
  if (start < 0) return MakeError("self-calibration: the vocabulary has neither a BOS nor an end-of-sequence token");

  ThreadPool pool(options.threads);
  InferenceContext ctx(model, length, n_seq, pool, n_seq);
  SelfCalibrationResult result;
  // Every row counts, the generation-sized batches included (unlike CollectImatrix, which skips
  // small multiplications because it runs over text, not sampled tokens).
  ctx.set_observer([&](const WeightMatrix& w, const float* x, int64_t n_rows) {
    result.collector.Observe(w, x, n_rows);
  });

  std::vector<Sampler> samplers;
  for (int s = 0; s < n_seq; ++s) {
    SamplerOptions sampling;
    sampling.temperature = 1.0f;  // the model's own distribution, untruncated
    sampling.top_k = 0;
    sampling.top_p = 1.0f;
    sampling.seed = options.seed + static_cast<uint64_t>(s);
    samplers.emplace_back(sampling);
  }
  std::vector<int> seqs(static_cast<size_t>(n_seq));
  std::iota(seqs.begin(), seqs.end(), 0);
  std::vector<int32_t> tokens(static_cast<size_t>(n_seq), start);
  std::vector<float> logits;
  const size_t n_vocab = static_cast<size_t>(model.config().n_vocab);
  // The last step's logits would choose a token nobody evaluates: length forward passes,
  // length - 1 samples.
  result.sequences.assign(static_cast<size_t>(n_seq), {});
  for (int pos = 0; pos < length; ++pos) {
    for (int s = 0; s < n_seq; ++s) result.sequences[static_cast<size_t>(s)].push_back(tokens[static_cast<size_t>(s)]);
    Status status = ctx.DecodeStep(seqs, tokens, &logits);
    if (!status.ok()) {
      ctx.set_observer(nullptr);
      return status.error();
    }
    if (pos + 1 < length) {
      for (int s = 0; s < n_seq; ++s) {
        const std::span<const float> row(logits.data() + static_cast<size_t>(s) * n_vocab, n_vocab);
        tokens[static_cast<size_t>(s)] = samplers[static_cast<size_t>(s)].Sample(row);
      }
    }
    if (progress) progress(static_cast<size_t>(pos + 1), static_cast<size_t>(length));
  }
  ctx.set_observer(nullptr);
  QF_RETURN_IF_ERROR(result.collector.CheckFinite());
  result.n_tokens = static_cast<int64_t>(n_seq) * length;
  return result;
}

namespace {

// MemAvailable from /proc/meminfo in bytes, or 0 where it cannot be read.
uint64_t AvailableMemory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// Bytes of the model's matrices once float ones are stored as Q8_0 (34 bytes per 32 values).
uint64_t SamplingFootprint(const GgufFile& file) {
  uint64_t total = 0;
  for (const auto& t : file.tensors()) {
    if (t.shape.size() != 2) continue;
    const bool is_float = t.type == GgmlType::F32 || t.type == GgmlType::F16 || t.type == GgmlType::BF16;
    total += is_float ? static_cast<uint64_t>(t.n_elements()) / 32 * 34 : t.n_bytes;
  }
  return total;
}

}  // namespace

Expected<SelfCalibrationResult> SelfCalibrateFile(const std::string& path, const SelfCalibrationOptions& options,
                                                  const ProgressFn& progress) {
  {
    auto file = GgufFile::Open(path);
    if (!file) return file.error();
    auto config = ReadModelConfig(*file);  // fails here, before any copy, for an architecture qforge cannot run
    if (!config) return config.error();
    // The model's copy plus the sequences' KV cache (half floats, positions rounded up to 32).
    const uint64_t positions = (static_cast<uint64_t>(std::max(options.sequence_length, 1)) + 31) / 32 * 32;
    const uint64_t kv = static_cast<uint64_t>(std::max(options.n_sequences, 1)) * positions *
                        static_cast<uint64_t>(config->n_layer) * static_cast<uint64_t>(config->n_head_kv) *
                        static_cast<uint64_t>(config->head_dim + config->head_dim_v) * 2;
    const uint64_t weights = SamplingFootprint(*file), available = AvailableMemory();
    if (available > 0 && weights + kv > available / 10 * 8) {
      return MakeError(fmt::format("sampling needs {:.0f} MiB (the model at Q8_0 {:.0f} MiB, KV cache {:.0f} MiB), "
                                   "more than 80% of the {:.0f} MiB available",
                                   static_cast<double>(weights + kv) / 1048576.0, static_cast<double>(weights) / 1048576.0,
                                   static_cast<double>(kv) / 1048576.0, static_cast<double>(available) / 1048576.0));
    }
  }
  ModelLoadOptions load;
  load.float_matrices_as_q8_0 = true;
  auto model = Model::Load(path, load);
  if (!model) return model.error();
  auto tokenizer = Tokenizer::FromGguf((*model)->file());
  if (!tokenizer) return tokenizer.error();
  auto result = SelfCalibrate(**model, *tokenizer, options, progress);
  if (!result) return MakeError(fmt::format("{}: {}", path, result.error().message));
  return result;
}

}  // namespace qforge
