// qforge eval --baseline A --candidate B --report DIR: compares a candidate with its baseline
// on a text (perplexity, KL divergence) and on capability suites, applies the gate, measures
// serving, and writes report.json and report.html. Exit 0: every gated metric passes; 1: a
// regression was found; 2: bad input.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "qforge/cli/commands.h"
#include "qforge/core/progress.h"
#include "qforge/core/sha256.h"
#include "qforge/eval/eval_cache.h"
#include "qforge/eval/eval_compare.h"
#include "qforge/eval/eval_report.h"
#include "qforge/eval/model_runner.h"
#include "qforge/model/model.h"
#include "qforge/eval/serving.h"
#include "qforge/core/cpu_features.h"
#include "qforge/io/mapped_file.h"

namespace qforge::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct EvalCliOptions {
  std::string baseline, candidate, report_dir;
  std::string suites;       // directory or comma-separated names; "none" skips suites
  std::string text;         // "none" skips the distribution metrics
  std::string gate;
  std::string cache_dir;
  bool no_cache = false;
  bool no_serving = false;
  bool no_generate = false;
  int ctx = 512;
  int chunks = 20;
  int max_items = -1;
  int top_k = 64;
  int serving_requests = 16;
  int threads = 0;
  uint64_t seed = 1;
  std::vector<std::string> argv;
};

// The project root when running from a build tree (build/src/qforge), else the current
// directory: where the shipped suites/ and ../shared/data are found by default.
fs::path ProjectRoot() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      if (fs::exists(p / "suites") && fs::exists(p / "CMakeLists.txt")) return p;
    }
  }
  return fs::current_path(ec);
}

// One line per model saying where its time went (and the forward-pass rows per second of
// each phase), so a slow eval shows which phase to trim.
void PrintPhaseTimes(const char* who, const ModelRun& run) {
  std::vector<std::string> parts;
  auto rate = [](int64_t tokens, double seconds) { return seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0; };
  if (run.text.n_chunks > 0) {
    parts.push_back(fmt::format("text {:.0f} s, {:.0f} tok/s", run.text.seconds,
                                rate(run.text.tokens_evaluated(), run.text.seconds)));
  }
  for (const SuiteRun& s : run.suites) {
    parts.push_back(fmt::format("{} {:.0f} s, {:.0f} tok/s", s.name, s.seconds, rate(s.tokens_evaluated, s.seconds)));
  }
  fmt::print(stderr, "{}: {:.0f} s{}\n", who, run.seconds,
             parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, ", ")));
}

// The forward pass's arithmetic, as far as its last bits: bumped whenever a change to the
// kernels or the order of operations changes results (2: four-row dots, grouped attention;
// 3: interleaved Q4_0/Q4_1/Q8_0 groups).
// Last-bit differences matter here: they flip the rounding of some 8-bit activation codes,
// and the same quantized model then differs from its cached self by a KLD near 0.002.
constexpr int kForwardRevision = 3;

// Everything the baseline's results depend on, hashed: a different model, text, suite item,
// setting, forward-pass revision or kernel ISA gives a different cache file.
std::string CacheKey(const ModelInfo& baseline, const std::string& text_sha, const RunInputs& in,
                     const std::vector<Suite>& suites) {
  Sha256 h;
  const std::string isa = fmt::format("{}{}{}", IsaName(BestIsa()), DetectCpu().avx512_vnni ? "+vnni" : "",
                                      InterleaveOnLoad() ? "" : "+row-major");
  h.Update(fmt::format("qforge-eval-cache 2|{}|{}|{}|{}|{}|{}|{}|{}|", QFORGE_VERSION, kForwardRevision, isa,
                       baseline.sha256, text_sha, in.n_ctx, in.max_chunks, in.top_k));
  for (const Suite& s : suites) {
    h.Update(fmt::format("suite|{}|{}|{}|{}|", s.name, s.version, s.source_sha256, s.items.size()));
    for (const SuiteItem& it : s.items) {
      h.Update(fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|", it.id, it.prompt, it.chat, it.system, it.reference,
                           fmt::join(it.options, "\x1f"), it.max_tokens, fmt::join(it.stop, "\x1f")));
    }
  }
  return h.FinishHex();
}

void PrintSummary(const nlohmann::json& report, const std::string& dir) {
  if (report.contains("distribution")) {
    const auto& d = report["distribution"];
    fmt::print("distribution: PPL {:.4f} -> {:.4f} (ratio {:.4f}), KLD mean {:.5f}, p99 {:.4f}, same top {:.2f}%\n",
               d["baseline_ppl"]["value"].get<double>(), d["candidate_ppl"]["value"].get<double>(),
               d["ppl_ratio"]["value"].get<double>(), d["kld"]["mean"]["value"].get<double>(),
               d["kld"]["p99"]["value"].get<double>(), d["same_top_pct"]["value"].get<double>());
  }
  for (const auto& c : report["capabilities"]) {
    fmt::print("{:<10} {:<22} {:>3} items  {}\n", c["capability"].get<std::string>(), c["suite"].get<std::string>(),
               c["items"].get<size_t>(), c["pass"].get<bool>() ? "pass" : "FAIL");
    for (const auto& m : c["metrics"]) {
      fmt::print("    {:<22} {:>10.4g} -> {:>10.4g}  delta {:+.4g} [{:+.4g}, {:+.4g}] {}{}\n", m["name"].get<std::string>(),
                 m["baseline"].get<double>(), m["candidate"].get<double>(), m["delta"].get<double>(),
                 m["ci"][0].get<double>(), m["ci"][1].get<double>(), m["unit"].get<std::string>(),
                 m.contains("gate") ? (m["gate"]["pass"].get<bool>() ? "  gate: pass" : "  gate: FAIL") : "");
    }
  }
  if (report.contains("serving")) {
    for (const char* who : {"baseline", "candidate"}) {
      const auto& s = report["serving"][who];
      fmt::print("serving {:<9}: {:.1f} MiB peak, prompt {:.1f} tok/s, generation {:.1f} tok/s, latency p50 {:.0f} ms p99 {:.0f} ms\n",
                 who, s["peak_rss_bytes"].get<double>() / 1048576.0, s["prompt_tokens_per_s"].get<double>(),
                 s["gen_tokens_per_s"].get<double>(), s["latency_ms"]["p50"].get<double>(),
                 s["latency_ms"]["p99"].get<double>());
    }
  }
  fmt::print("verdict: {}\n", report["verdict"].get<std::string>() == "pass" ? "PASS" : "FAIL");
  for (const auto& r : report["regressions"]) fmt::print("  regression: {}\n", r.get<std::string>());
  fmt::print("report: {}/report.html, {}/report.json\n", dir, dir);
}

int RunEval(const EvalCliOptions& opt) {
  const auto start = Clock::now();
  const fs::path root = ProjectRoot();
  // Models: both must load and share a vocabulary.
  auto base_info = DescribeModelFile(opt.baseline);
  if (!base_info) return Fail(base_info.error().message);
  auto cand_info = DescribeModelFile(opt.candidate);
  if (!cand_info) return Fail(cand_info.error().message);
  auto base_model = Model::Load(opt.baseline);
  if (!base_model) return Fail(base_model.error().message);
  auto cand_model = Model::Load(opt.candidate);
  if (!cand_model) return Fail(cand_model.error().message);
  auto base_tok = Tokenizer::FromGguf((*base_model)->file());
  if (!base_tok) return Fail(base_tok.error().message);
  auto cand_tok = Tokenizer::FromGguf((*cand_model)->file());
  if (!cand_tok) return Fail(cand_tok.error().message);
  if ((*base_model)->config().n_vocab != (*cand_model)->config().n_vocab) {
    return Fail(fmt::format("{}: vocabulary of {} tokens, but the baseline {} has {}; a candidate must be a "
                            "quantization of its baseline", opt.candidate, (*cand_model)->config().n_vocab,
                            opt.baseline, (*base_model)->config().n_vocab));
  }

  Gate gate = DefaultGate();
  if (!opt.gate.empty()) {
    auto g = LoadGate(opt.gate);
    if (!g) return Fail(g.error().message);
    gate = std::move(*g);
  }

  RunInputs inputs;
  inputs.n_ctx = opt.ctx;
  inputs.max_chunks = opt.chunks;
  inputs.top_k = opt.top_k;
  std::string text_path, text_sha;
  if (opt.text != "none") {
    text_path = opt.text.empty() ? (root / "../shared/data/text/wikitext-2-test.txt").lexically_normal().string() : opt.text;
    auto text = ReadTextFile(text_path);
    if (!text) return Fail(text.error().message);
    text_sha = Sha256Hex(*text);
    inputs.text_tokens = base_tok->Encode(*text, base_tok->add_bos_by_default(), false);
    if (inputs.text_tokens.size() < 2 * static_cast<size_t>(opt.ctx)) {
      return Fail(fmt::format("{}: {} tokens; the distribution metrics at context {} need at least {}", text_path,
                              inputs.text_tokens.size(), opt.ctx, 2 * opt.ctx));
    }
  }

  std::vector<Suite> suites;
  if (opt.suites != "none") {
    const std::string suites_dir = (root / "suites").string();
    auto paths = ResolveSuites(opt.suites.empty() ? suites_dir : opt.suites, suites_dir);
    if (!paths) return Fail(paths.error().message);
    SuiteLoadOptions load;
    load.max_items = opt.max_items;
    for (const auto& p : *paths) {
      auto s = LoadSuite(p, load);
      if (!s) return Fail(s.error().message);
      // Screening mode: teacher-forced and option-likelihood measures only. Generation is most
      // of an eval's time; the changed items give the baseline cache its own key.
      if (opt.no_generate) {
        for (SuiteItem& item : s->items) item.max_tokens = 0;
      }
      suites.push_back(std::move(*s));
    }
  }
  inputs.suites = &suites;

  const int threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::thread::hardware_concurrency());
  ThreadPool pool(threads);

  // The baseline: from the cache when this exact run was done before.
  const std::string cache_dir = opt.cache_dir.empty() ? DefaultCacheDir() : opt.cache_dir;
  const std::string cache_path = cache_dir + "/baseline-" + CacheKey(*base_info, text_sha, inputs, suites) + ".bin";
  ModelRun base_run;
  bool cache_hit = false;
  if (!opt.no_cache) {
    auto cached = LoadBaselineRun(cache_path);
    if (!cached) return Fail(cached.error().message);
    if (cached->found) {
      base_run = std::move(cached->run);
      cache_hit = true;
      fmt::print(stderr, "baseline: cached results {}\n", cache_path);
    }
  }
  if (!cache_hit) {
    StderrProgress progress("baseline");
    auto run = RunModel(**base_model, *base_tok, inputs, nullptr, pool, progress.AsFn());
    progress.Finish();
    if (!run) return Fail(run.error().message);
    PrintPhaseTimes("baseline", *run);
    base_run = std::move(*run);
    if (!opt.no_cache) {
      if (Status st = SaveBaselineRun(cache_path, base_run); !st.ok()) {
        fmt::print(stderr, "qforge: warning: {} (the baseline will be recomputed next time)\n", st.error().message);
      }
    }
  }
  StderrProgress progress("candidate");
  auto cand_run = RunModel(**cand_model, *cand_tok, inputs, &base_run, pool, progress.AsFn());
  progress.Finish();
  if (!cand_run) return Fail(cand_run.error().message);
  PrintPhaseTimes("candidate", *cand_run);

  ReportInputs rin;
  rin.baseline = *base_info;
  rin.candidate = *cand_info;
  rin.text_path = text_path;
  rin.text_sha256 = text_sha;
  rin.text_tokens = inputs.text_tokens.size();
  rin.suites = &suites;
  rin.baseline_run = &base_run;
  rin.candidate_run = &*cand_run;
  rin.capabilities = CompareCapabilities(suites, base_run, *cand_run, gate, opt.seed);
  rin.gate = &gate;
  rin.cache_hit = cache_hit;
  rin.seed = opt.seed;
  rin.command = fmt::format("{}", fmt::join(opt.argv, " "));
  if (!opt.no_serving) {
    ServingOptions so;
    so.requests = opt.serving_requests;
    so.threads = threads;
    fmt::print(stderr, "serving: {} requests per model\n", so.requests);
    auto sb = MeasureServing("/proc/self/exe", opt.baseline, so);
    if (!sb) return Fail(sb.error().message);
    auto sc = MeasureServing("/proc/self/exe", opt.candidate, so);
    if (!sc) return Fail(sc.error().message);
    rin.serving_baseline = *sb;
    rin.serving_candidate = *sc;
    rin.serving_requests = so.requests;
  }
  rin.total_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Verdict verdict;
  const nlohmann::json report = BuildReport(rin, &verdict);
  if (Status st = WriteReport(opt.report_dir, report); !st.ok()) return Fail(st.error().message);
  PrintSummary(report, opt.report_dir);
  return verdict.pass ? kExitOk : kExitCheckFailed;
}

}  // namespace

Subcommand AddEvalCommand(CLI::App& root, int argc, char** argv) {
  auto opt = std::make_shared<EvalCliOptions>();
  opt->argv.assign(argv, argv + argc);
  CLI::App* app = root.add_subcommand("eval", "Compare a candidate with its baseline, capability by capability");
  app->add_option("--baseline", opt->baseline, "Baseline model (GGUF)")->required();
  app->add_option("--candidate", opt->candidate, "Candidate model (GGUF), a quantization of the baseline")->required();
  app->add_option("--report", opt->report_dir, "Directory for report.json and report.html")->required();
  app->add_option("--suites", opt->suites, "Suite directory, or comma-separated suite names; 'none' skips (default: the shipped suites/)");
  app->add_option("--text", opt->text, "Text for the distribution metrics; 'none' skips (default: wikitext-2 test)");
  app->add_option("--gate", opt->gate, "Gate file (TOML, see docs/gate.md; default: the built-in gate)");
  app->add_option("-c,--ctx", opt->ctx, "Context of the distribution metrics")->capture_default_str()->check(CLI::Range(16, 1 << 16));
  app->add_option("--chunks", opt->chunks, "Chunks of the text to score")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app->add_option("--max-items", opt->max_items, "At most this many items per suite (default: each suite's limit)")->check(CLI::Range(1, 1 << 20));
  app->add_option("--top-k", opt->top_k, "Baseline tokens kept per position for KLD")->capture_default_str()->check(CLI::Range(1, 4096));
  app->add_option("--serving-requests", opt->serving_requests, "Requests in the serving benchmark")->capture_default_str()->check(CLI::Range(2, 10000));
  app->add_flag("--no-serving", opt->no_serving, "Skip the serving benchmark");
  app->add_flag("--no-generate", opt->no_generate,
                "Skip generated answers (math exact match, code pass@1, tool calls, recall): a fast screen "
                "on teacher-forced and likelihood measures");
  app->add_option("--cache-dir", opt->cache_dir, "Where baseline results are cached (default: $QFORGE_CACHE_DIR or ~/.cache/qforge)");
  app->add_flag("--no-cache", opt->no_cache, "Neither read nor write the baseline cache");
  app->add_option("--seed", opt->seed, "Seed of the bootstrap resampling")->capture_default_str();
  app->add_option("-t,--threads", opt->threads, "Threads (default: all cores)")->check(CLI::Range(0, 1024));
  return {app, [opt] { return RunEval(*opt); }};
}

}  // namespace qforge::cli
