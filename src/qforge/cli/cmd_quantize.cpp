// qforge quantize IN OUT --type MIX: write a GGUF file in one of llama.cpp's formats, from a
// GGUF file or a Hugging Face safetensors directory.
#include <fmt/format.h>
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "qforge/calib/self_calibration.h"
#include "qforge/cli/commands.h"
#include "qforge/core/progress.h"
#include "qforge/quant/hf_source.h"
#include "qforge/quant/quantize_model.h"

namespace qforge::cli {

namespace {

struct QuantizeCliOptions {
  std::string input;
  std::string output;
  std::string type;
  std::string imatrix;
  std::vector<std::string> tensor_types;
  bool pure = false;
  bool reference = false;
  bool no_outlier_protection = false;
  bool measured_importance_only = false;
  bool no_self_calibration = false;
  SelfCalibrationOptions self_calibration;
  bool verbose = false;
  int threads = 0;
};

// Checked before any work (self-calibration alone can take minutes on a large model), so an
// output nobody can write fails at once; the writer still reports what goes wrong later.
std::optional<std::string> OutputDirectoryProblem(const std::string& output) {
  std::filesystem::path dir = std::filesystem::path(output).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fmt::format("{}: cannot create: directory '{}' does not exist", output, dir.string());
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    return fmt::format("{}: cannot create: {}", output, std::strerror(errno));
  }
  return std::nullopt;
}

// Self-calibration's importance, or nothing (with one stderr line saying why) when it cannot
// run: the caller then estimates the importance from the weights.
std::optional<Imatrix> SampledImportance(const QuantizeCliOptions& cli, bool hf_directory, int threads) {
  if (hf_directory) {
    fmt::print(stderr, "self-calibration skipped: it runs GGUF inputs only; importance estimated from the weights\n");
    return std::nullopt;
  }
  SelfCalibrationOptions so = cli.self_calibration;
  so.threads = threads;
  const auto t0 = std::chrono::steady_clock::now();
  StderrProgress sampling("self-calibration");
  auto sampled = SelfCalibrateFile(cli.input, so, sampling.AsFn());
  sampling.Finish();
#ifdef __GLIBC__
  // The sampling run's buffers are freed, but glibc keeps heap it grew while its mmap
  // threshold had risen (about 57 MB on SmolLM2); give it back before the streaming pass.
  ::malloc_trim(0);
#endif
  if (!sampled) {
    fmt::print(stderr, "self-calibration skipped: {}; importance estimated from the weights\n", sampled.error().message);
    return std::nullopt;
  }
  fmt::print(stderr, "self-calibration: {} sequences of {} tokens sampled in {:.1f} s\n", so.n_sequences,
             so.sequence_length, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return MeanImportance(sampled->collector.entries());
}

int RunQuantize(const QuantizeCliOptions& cli) {
  const auto mix = FindMix(cli.type);
  if (!mix) {
    std::string names;
    for (const auto& m : AllMixes()) names += (names.empty() ? "" : " ") + std::string(m.name);
    return Fail(fmt::format("unknown --type '{}' (one of: {})", cli.type, names));
  }
  if (auto problem = OutputDirectoryProblem(cli.output)) return Fail(*problem);
  QuantizeOptions opt;
  opt.mix = *mix;
  opt.pure = cli.pure;
  opt.reference_quantizer = cli.reference;
  opt.protect_outliers = !cli.no_outlier_protection;
  opt.fill_importance_gaps = !cli.measured_importance_only;
  opt.threads = cli.threads > 0 ? cli.threads : static_cast<int>(std::thread::hardware_concurrency());
  for (const auto& spec : cli.tensor_types) {
    auto o = ParseTensorTypeOverride(spec);
    if (!o) return Fail(o.error().message);
    opt.overrides.push_back(std::move(*o));
  }
  std::optional<Imatrix> imatrix;
  if (!cli.imatrix.empty()) {
    auto m = LoadImatrix(cli.imatrix);
    if (!m) return Fail(m.error().message);
    imatrix = std::move(*m);
    opt.imatrix = &*imatrix;
  }
  // A directory is a Hugging Face checkpoint; anything else is read (and reported) as GGUF.
  std::error_code ec;
  const bool hf_directory = std::filesystem::is_directory(cli.input, ec);
  auto source = hf_directory ? OpenHfSource(cli.input) : OpenGgufSource(cli.input);
  if (!source) return Fail(source.error().message);
  // Without an imatrix the model samples its own calibration text, when qforge can run it;
  // otherwise the importance is estimated from the weights (quant/importance.h).
  const bool float_mix = mix->base == GgmlType::F32 || mix->base == GgmlType::F16 || mix->base == GgmlType::BF16;
  if (!imatrix && !cli.no_self_calibration && !cli.reference && !float_mix) {
    imatrix = SampledImportance(cli, hf_directory, opt.threads);
    if (imatrix) {
      opt.imatrix = &*imatrix;
      opt.imatrix_self_sampled = true;
    }
  }

  StderrProgress progress("quantize");
  auto report = QuantizeModel(**source, cli.output, opt, progress.AsFn());
  progress.Finish();
  if (!report) return Fail(report.error().message);

  std::map<std::string, int> type_counts;
  std::map<ImportanceOrigin, int> importance_counts;
  for (const auto& t : report->tensors) {
    ++type_counts[std::string(GgmlTypeName(t.type))];
    if (t.quantized) ++importance_counts[t.importance];
  }
  if (cli.verbose) {
    fmt::print("{:<36} {:<7} {:>12} {:>12} {:>10} {:>8}\n", "tensor", "type", "bytes", "rel. error", "importance", "ms");
    for (const auto& t : report->tensors) {
      fmt::print("{:<36} {:<7} {:>12} {:>12.4e} {:>10} {:>8.1f}\n", t.name, GgmlTypeName(t.type), t.bytes,
                 t.relative_error, t.quantized ? ImportanceOriginName(t.importance) : "-", t.seconds * 1e3);
    }
  }
  struct stat st {};
  const uint64_t file_size = ::stat(cli.output.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  std::string types;
  for (const auto& [name, count] : type_counts) types += fmt::format(" {}x{}", count, name);
  std::string importance;
  for (const auto& [origin, count] : importance_counts) {
    importance += fmt::format("{}{} {}", importance.empty() ? "" : ", ", count, ImportanceOriginName(origin));
  }
  fmt::print("wrote {} ({} bytes, {:.3f} bits/weight) in {:.2f} s with {} threads;{}\n", cli.output,
             file_size, report->bits_per_weight(), report->seconds, opt.threads, types);
  if (!importance.empty()) fmt::print("importance of the fitted tensors: {}\n", importance);
  return kExitOk;
}

}  // namespace

Subcommand AddQuantizeCommand(CLI::App& root) {
  auto opt = std::make_shared<QuantizeCliOptions>();
  CLI::App* app = root.add_subcommand("quantize", "Quantize a model to a llama.cpp GGUF format");
  app->add_option("input", opt->input, "Input model (GGUF file or Hugging Face safetensors directory)")->required();
  app->add_option("output", opt->output, "Output GGUF file")->required();
  app->add_option("--type", opt->type, "Mix: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS F16 BF16 F32")->required();
  app->add_option("--imatrix", opt->imatrix, "Importance matrix (GGUF, from qforge or llama.cpp)");
  app->add_option("--tensor-type", opt->tensor_types, "Override: REGEX=TYPE (repeatable, first match wins)");
  app->add_flag("--pure", opt->pure, "Every weight matrix gets the mix's base type");
  app->add_flag("--reference-quantizer", opt->reference, "Plain round-to-nearest instead of fitted scales");
  app->add_flag("--no-outlier-protection", opt->no_outlier_protection,
                 "Where importance is not measured, do not weight each scale group's largest value 4x inside the blocks (default: do)");
  app->add_flag("--measured-importance-only", opt->measured_importance_only,
                 "Weight only by the imatrix; without an entry every column counts the same (default: "
                 "derive the output head's importance from the last block's, estimate the rest from the "
                 "model's own weights; docs/decisions.md)");
  app->add_flag("--no-self-calibration", opt->no_self_calibration,
                 "Without --imatrix, do not let the model sample its own calibration text; estimate the "
                 "importance from the weights instead (default: sample, when qforge can run the model)");
  app->add_option("--self-calibration-sequences", opt->self_calibration.n_sequences,
                  "Sequences the model samples for self-calibration")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  app->add_option("--self-calibration-length", opt->self_calibration.sequence_length,
                  "Tokens per self-calibration sequence")
      ->capture_default_str()->check(CLI::Range(2, 1 << 20));
  app->add_option("--self-calibration-seed", opt->self_calibration.seed, "Sampling seed for self-calibration")
      ->capture_default_str();
  app->add_flag("-v,--verbose", opt->verbose, "Print a line per tensor");
  app->add_option("-t,--threads", opt->threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  return {app, [opt] { return RunQuantize(*opt); }};
}

}  // namespace qforge::cli
