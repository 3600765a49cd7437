#include "qforge/eval/eval_report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "qforge/core/cpu_features.h"
#include "qforge/core/sha256.h"
#include "qforge/eval/kld.h"
#include "qforge/eval/report_html.h"
#include "qforge/io/atomic_file.h"
#include "qforge/io/gguf_reader.h"
#include "qforge/quant/mixes.h"

namespace qforge {

namespace {

using nlohmann::json;

json Est(const Estimate& e) { return {{"value", e.value}, {"stderr", e.err}}; }

// An estimate with a symmetric interval at `z` standard errors (quantiles: their rank interval).
json WithCi(const Estimate& e, double z) { return {{"value", e.value}, {"ci", {e.value - z * e.err, e.value + z * e.err}}}; }

json KldHistogram(const std::vector<float>& values) {
  // Log-spaced bins from 1e-6 to 10 nats; smaller values land in the first bin.
  constexpr int kBins = 35;
  const double lo = -6.0, hi = 1.0;
  json edges = json::array(), counts = json::array();
  std::vector<int64_t> c(kBins, 0);
  for (int i = 0; i <= kBins; ++i) edges.push_back(std::pow(10.0, lo + (hi - lo) * i / kBins));
  for (float v : values) {
    const double x = v > 0 ? std::log10(v) : lo;
    const int bin = std::clamp(static_cast<int>(std::floor((x - lo) / (hi - lo) * kBins)), 0, kBins - 1);
    ++c[bin];
  }
  for (int64_t n : c) counts.push_back(n);
  return {{"edges", edges}, {"counts", counts}};
}

json ModelJson(const ModelInfo& m) {
  return {{"path", m.path},           {"sha256", m.sha256},
          {"size_bytes", m.size_bytes}, {"file_type", m.file_type},
          {"bits_per_weight", m.bits_per_weight}, {"quantization", m.quantization}};
}

json ServingJson(const ServingResult& s) {
  return {{"file_bytes", s.file_bytes},
          {"peak_rss_bytes", s.peak_rss_bytes},
          {"prompt_tokens_per_s", s.prompt_tokens_per_s},
          {"gen_tokens_per_s", s.gen_tokens_per_s},
          {"latency_ms", {{"p50", s.p50_ms}, {"p99", s.p99_ms}, {"values", s.latency_ms}}}};
}

// Where each model's time went: the text, then each suite. A cached baseline reports the
// times of the run that filled the cache.
json PhaseTimes(const ModelRun& base, const ModelRun& cand) {
  json phases = json::array();
  if (base.text.n_chunks > 0) {
    phases.push_back({{"phase", "text"},
                      {"baseline_seconds", base.text.seconds},
                      {"candidate_seconds", cand.text.seconds},
                      {"tokens_evaluated", cand.text.tokens_evaluated()}});
  }
  for (size_t s = 0; s < base.suites.size() && s < cand.suites.size(); ++s) {
    phases.push_back({{"phase", "suite " + base.suites[s].name},
                      {"baseline_seconds", base.suites[s].seconds},
                      {"candidate_seconds", cand.suites[s].seconds},
                      {"tokens_evaluated", cand.suites[s].tokens_evaluated}});
  }
  return phases;
}

std::string NowIso() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

Expected<ModelInfo> DescribeModelFile(const std::string& path) {
  auto file = GgufFile::Open(path);
  if (!file) return file.error();
  ModelInfo m;
  m.path = path;
  m.size_bytes = file->file_size();
  auto sha = Sha256File(path);
  if (!sha) return sha.error();
  m.sha256 = *sha;
  uint64_t params = 0, bytes = 0;
  for (const auto& t : file->tensors()) {
    params += static_cast<uint64_t>(t.n_elements());
    bytes += t.n_bytes;
  }
  m.bits_per_weight = params ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0.0;
  if (auto ft = file->GetInt("general.file_type")) {
    m.file_type = fmt::format("file_type {}", *ft);
    for (const MixInfo& mix : AllMixes()) {
      if (mix.file_type == static_cast<uint64_t>(*ft)) m.file_type = std::string(mix.name);
    }
  }
  // Quantization provenance the file carries (llama.cpp and qforge write these keys).
  for (const auto& [key, value] : file->metadata()) {
    if (key.rfind("quantize.", 0) != 0) continue;
    if (auto s = file->GetString(key)) m.quantization[key] = *s;
    else if (auto i = file->GetInt(key)) m.quantization[key] = *i;
    else if (auto f = file->GetFloat(key)) m.quantization[key] = *f;
  }
  return m;
}

json BuildReport(const ReportInputs& in, Verdict* verdict) {
  const Gate& gate = *in.gate;
  const double z = NormalQuantile(0.5 + gate.confidence / 2);
  Verdict v;
  json report;
  report["qforge_report"] = 1;

  json prov;
  prov["qforge_version"] = QFORGE_VERSION;
  prov["created"] = NowIso();
  prov["machine"] = DescribeMachine();
  prov["seed"] = in.seed;
  prov["command"] = in.command;
  prov["baseline"] = ModelJson(in.baseline);
  prov["candidate"] = ModelJson(in.candidate);
  if (!in.text_path.empty()) prov["text"] = {{"path", in.text_path}, {"sha256", in.text_sha256}, {"tokens", in.text_tokens}};
  json suites = json::array();
  if (in.suites) {
    for (const Suite& s : *in.suites) {
      suites.push_back({{"name", s.name}, {"capability", s.capability}, {"version", s.version},
                        {"path", s.path}, {"sha256", s.source_sha256}, {"items", s.items.size()}});
    }
  }
  prov["suites"] = suites;
  prov["gate"] = {{"path", gate.source}, {"sha256", gate.sha256}, {"confidence", gate.confidence}};
  report["provenance"] = prov;

  const TextRun& bt = in.baseline_run->text;
  const TextRun& ct = in.candidate_run->text;
  if (!ct.divergence.empty()) {
    const DivergenceStats d = SummarizeDivergence(ct.divergence);
    json dist;
    dist["ctx"] = bt.n_ctx;
    dist["chunks"] = bt.n_chunks;
    dist["scored_tokens"] = d.n;
    dist["baseline_ppl"] = {{"value", bt.ppl}, {"stderr", bt.ppl_err}};
    dist["candidate_ppl"] = {{"value", ct.ppl}, {"stderr", ct.ppl_err}};
    dist["ppl_ratio"] = Est(d.ppl_ratio);
    dist["ppl_ratio"]["ci"] = {d.ppl_ratio.value - z * d.ppl_ratio.err, d.ppl_ratio.value + z * d.ppl_ratio.err};
    // Quantile errors are already half their 95% rank intervals.
    dist["kld"] = {{"mean", WithCi(d.kld_mean, z)},     {"median", WithCi(d.kld_median, 1.0)},
                   {"p90", WithCi(d.kld_p90, 1.0)},     {"p99", WithCi(d.kld_p99, 1.0)},
                   {"p999", WithCi(d.kld_p999, 1.0)},   {"max", {{"value", d.kld_max}}}};
    dist["kld_histogram"] = KldHistogram(d.kld_values);
    dist["same_top_pct"] = WithCi(d.same_top_pct, z);
    dist["rms_dp_pct"] = WithCi(d.rms_dp_pct, z);
    dist["baseline_cache"] = in.cache_hit ? "hit" : "miss";
    json checks = json::array();
    if (gate.max_ppl_ratio) {
      const double upper = d.ppl_ratio.value + z * d.ppl_ratio.err;
      const bool ok = upper < *gate.max_ppl_ratio;
      checks.push_back({{"rule", fmt::format("ppl_ratio < {:g} with {:g}% confidence", *gate.max_ppl_ratio, 100 * gate.confidence)},
                        {"pass", ok}});
      if (!ok) {
        v.regressions.push_back(fmt::format("distribution: perplexity ratio {:.4f} (upper bound {:.4f}) is not below {:g}",
                                            d.ppl_ratio.value, upper, *gate.max_ppl_ratio));
      }
    }
    if (gate.max_kld_mean) {
      const double upper = d.kld_mean.value + z * d.kld_mean.err;
      const bool ok = upper < *gate.max_kld_mean;
      checks.push_back({{"rule", fmt::format("kld_mean < {:g} with {:g}% confidence", *gate.max_kld_mean, 100 * gate.confidence)},
                        {"pass", ok}});
      if (!ok) {
        v.regressions.push_back(fmt::format("distribution: mean KLD {:.5f} (upper bound {:.5f}) is not below {:g}",
                                            d.kld_mean.value, upper, *gate.max_kld_mean));
      }
    }
    dist["gate"] = checks;
    report["distribution"] = dist;
  }

  json caps = json::array();
  for (const CapabilityResult& c : in.capabilities) {
    json metrics = json::array();
    for (const MetricResult& m : c.metrics) {
      json jm = {{"name", m.name},
                 {"kind", m.kind},
                 {"unit", m.unit},
                 {"higher_is_better", m.higher_is_better},
                 {"baseline", m.summary.baseline_mean},
                 {"candidate", m.summary.candidate_mean},
                 {"delta", m.summary.delta},
                 {"ci", {m.summary.delta_ci.lo, m.summary.delta_ci.hi}},
                 {"confidence", m.confidence},
                 {"mde", m.summary.mde}};
      if (m.has_flips) jm["flips"] = {{"gained", m.flips.gained}, {"lost", m.flips.lost}, {"p_value", m.flips.p_value}};
      if (m.gated) {
        jm["gate"] = {{"rule", m.rule}, {"pass", m.pass}};
        if (m.min_delta) jm["gate"]["min_delta"] = *m.min_delta;
        if (m.max_delta) jm["gate"]["max_delta"] = *m.max_delta;
        if (!m.pass) {
          v.regressions.push_back(fmt::format("{} ({}): {} delta {:+.4g} {} ({:g}% CI {:+.4g}..{:+.4g}) fails '{}'", c.capability,
                                              c.suite, m.name, m.summary.delta, m.unit, 100 * m.confidence,
                                              m.summary.delta_ci.lo, m.summary.delta_ci.hi, m.rule));
        }
      }
      metrics.push_back(jm);
    }
    json examples = json::array();
    for (const FlippedExample& e : c.examples) {
      examples.push_back({{"id", e.id}, {"prompt", e.prompt}, {"baseline", e.baseline_text}, {"candidate", e.candidate_text},
                          {"baseline_pass", e.baseline_pass}, {"candidate_pass", e.candidate_pass}});
    }
    caps.push_back({{"capability", c.capability}, {"suite", c.suite}, {"items", c.items}, {"pass", c.pass},
                    {"metrics", metrics}, {"examples", examples}});
  }
  report["capabilities"] = caps;

  if (in.serving_baseline && in.serving_candidate) {
    report["serving"] = {{"prompts", in.serving_requests},
                         {"baseline", ServingJson(*in.serving_baseline)},
                         {"candidate", ServingJson(*in.serving_candidate)}};
  }
  report["timing"] = {{"total_seconds", in.total_seconds},
                      {"baseline_seconds", in.baseline_run->seconds},
                      {"candidate_seconds", in.candidate_run->seconds},
                      {"phases", PhaseTimes(*in.baseline_run, *in.candidate_run)}};
  v.pass = v.regressions.empty();
  report["verdict"] = v.pass ? "pass" : "fail";
  report["regressions"] = v.regressions;
  if (verdict) *verdict = v;
  return report;
}

Status WriteReport(const std::string& dir, const json& report) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return MakeError(fmt::format("{}: cannot create the report directory: {}", dir, ec.message()));
  QF_RETURN_IF_ERROR(WriteFileAtomically(dir + "/report.json", report.dump(2) + "\n"));
  return WriteFileAtomically(dir + "/report.html", RenderHtmlReport(report));
}

}  // namespace qforge
