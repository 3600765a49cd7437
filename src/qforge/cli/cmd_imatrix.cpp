// qforge imatrix -m MODEL -f TEXT -o FILE: activation statistics for importance-weighted
// quantization, in llama.cpp's GGUF imatrix format. With --self instead of -f, the model
// samples its own calibration text (calib/self_calibration.h).
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <thread>

#include "qforge/calib/calibrate.h"
#include "qforge/calib/self_calibration.h"
#include "qforge/cli/commands.h"
#include "qforge/core/progress.h"
#include "qforge/io/mapped_file.h"
#include "qforge/model/model.h"
#include "qforge/tokenizer/tokenizer.h"

namespace qforge::cli {

namespace {

struct ImatrixCliOptions {
  std::string model;
  std::string text_file;
  std::string output;
  int n_ctx = 512;
  int chunks = -1;
  int threads = 0;
  bool process_output = false;
  bool self = false;
  SelfCalibrationOptions self_options;
};

int RunSelfImatrix(const ImatrixCliOptions& opt) {
  SelfCalibrationOptions so = opt.self_options;
  so.threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency());
  StderrProgress progress("imatrix (sampling)");
  auto result = SelfCalibrateFile(opt.model, so, progress.AsFn());
  progress.Finish();
  if (!result) return Fail(result.error().message);
  ImatrixFileInfo info;
  info.datasets = {fmt::format("self-sampled: {} sequences of {} tokens, seed {}", so.n_sequences,
                               so.sequence_length, so.seed)};
  info.chunk_count = static_cast<uint32_t>(so.n_sequences);
  info.chunk_size = static_cast<uint32_t>(so.sequence_length);
  if (auto s = SaveImatrix(opt.output, result->collector.entries(), info); !s.ok()) return Fail(s.error().message);
  fmt::print("wrote {}: {} tensors from {} sampled tokens\n", opt.output, result->collector.entries().size(),
             result->n_tokens);
  return kExitOk;
}

int RunImatrix(const ImatrixCliOptions& opt) {
  if (opt.self != opt.text_file.empty()) return Fail("imatrix: give either -f TEXT or --self");
  if (opt.self) return RunSelfImatrix(opt);
  auto model = Model::Load(opt.model);
  if (!model) return Fail(model.error().message);
  auto tokenizer = Tokenizer::FromGguf((*model)->file());
  if (!tokenizer) return Fail(tokenizer.error().message);
  auto text = ReadTextFile(opt.text_file);
  if (!text) return Fail(text.error().message);
  const bool add_bos = tokenizer->add_bos_by_default();
  const auto tokens = tokenizer->Encode(*text, add_bos, false);
  if (tokens.size() < static_cast<size_t>(opt.n_ctx)) {
    return Fail(fmt::format("{}: {} tokens, fewer than one chunk of {}", opt.text_file, tokens.size(), opt.n_ctx));
  }
  ThreadPool pool(opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency()));
  InferenceContext ctx(**model, opt.n_ctx, opt.n_ctx, pool);
  CalibrationOptions copt;
  copt.n_ctx = opt.n_ctx;
  copt.max_chunks = opt.chunks;
  copt.include_output = opt.process_output;
  if (add_bos) copt.bos = tokenizer->bos_id();
  StderrProgress progress("imatrix");
  auto result = CollectImatrix(ctx, tokens, copt, progress.AsFn());
  progress.Finish();
  if (!result) return Fail(result.error().message);
  ImatrixFileInfo info;
  info.datasets = {std::filesystem::path(opt.text_file).filename().string()};
  info.chunk_count = static_cast<uint32_t>(result->n_chunks);
  info.chunk_size = static_cast<uint32_t>(opt.n_ctx);
  if (auto s = SaveImatrix(opt.output, result->collector.entries(), info); !s.ok()) return Fail(s.error().message);
  fmt::print("wrote {}: {} tensors from {} chunks of {} tokens\n", opt.output,
             result->collector.entries().size(), result->n_chunks, opt.n_ctx);
  return kExitOk;
}

}  // namespace

Subcommand AddImatrixCommand(CLI::App& root) {
  auto opt = std::make_shared<ImatrixCliOptions>();
  CLI::App* app = root.add_subcommand("imatrix", "Collect an importance matrix (llama.cpp's GGUF imatrix format)");
  app->add_option("-m,--model", opt->model, "GGUF model file")->required();
  app->add_option("-f,--file", opt->text_file, "Calibration text");
  app->add_flag("--self", opt->self, "No text: the model samples its own (temperature 1) and the statistics "
                "cover every matrix, the output head included");
  app->add_option("--sequences", opt->self_options.n_sequences, "With --self: sequences sampled together")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  app->add_option("--sequence-length", opt->self_options.sequence_length, "With --self: tokens per sequence")
      ->capture_default_str()->check(CLI::Range(2, 1 << 20));
  app->add_option("--seed", opt->self_options.seed, "With --self: sampling seed")->capture_default_str();
  app->add_option("-o,--output", opt->output, "Output imatrix GGUF file")->required();
  app->add_option("-c,--ctx", opt->n_ctx, "Tokens per chunk")->capture_default_str()->check(CLI::Range(16, 1 << 20));
  app->add_option("--chunks", opt->chunks, "Use only the first N chunks")->check(CLI::Range(1, 1 << 30));
  app->add_flag("--process-output", opt->process_output, "Also collect statistics for the output head");
  app->add_option("-t,--threads", opt->threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  return {app, [opt] { return RunImatrix(*opt); }};
}

}  // namespace qforge::cli
