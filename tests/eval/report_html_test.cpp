#include "qforge/eval/report_html.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "qforge/eval/html_util.h"
#include "test_paths.h"

namespace qforge {
namespace {

using nlohmann::json;

constexpr const char* kHostilePrompt =
    "Q: <script>alert('x')</script> Tom has 3 apples & buys \"5\" more. How many?\nA:";

// A report as the runner writes it: two capabilities (math fails its gate), a KLD histogram,
// serving measurements with per-prompt latencies.
json SampleReport() {
  json r;
  r["qforge_report"] = 1;
  r["verdict"] = "fail";
  r["regressions"] = {
      "math (math-gsm8k): exact_match delta -7.5 % (95% CI -15..-2.5) fails 'delta > -3 with 95% "
      "confidence'"};
  // Hashes are made up (sha256 of short names), sizes are SmolLM2-135M's.
  const std::string sha_a = "a86a72df04500f55b719d0231762fd82c889238e7b0b3c8de0ef26057f5a49d4";
  const std::string sha_b = "0cd7a2542c1b0b8c811afcfdc8aa1f36007f4a01035ca180bb707290f0a98b4c";
  r["provenance"] = {
      {"qforge_version", "0.1.0"},
      {"created", "2024-11-24T21:45:00Z"},
      {"machine", {{"cpu", "AMD EPYC 9R14"}, {"cores", 16}}},
      {"seed", 1234},
      {"command",
       "qforge eval --baseline smollm2-f16.gguf --candidate smollm2-q4_k_m.gguf --report out"},
      {"baseline",
       {{"path", "models/smollm2-f16.gguf"},
        {"sha256", sha_a},
        {"size_bytes", 270898432},
        {"file_type", "F16"},
        {"bits_per_weight", 16.0}}},
      {"candidate",
       {{"path", "out/smollm2-q4_k_m.gguf"},
        {"sha256", sha_b},
        {"size_bytes", 105454592},
        {"file_type", "Q4_K_M"},
        {"bits_per_weight", 6.23},
        {"quantization",
         {{"method", "k-quant"},
          {"imatrix_sha256",
           "c47da9d1acd0c64997d618e675f55cb6972bd5b342b6bb24e697192d8d054324"}}}}},
      {"text",
       {{"path", "../shared/data/wikitext-2/wiki.test.raw"},
        {"sha256", "12a435ec8454c6d1c90a1d92812b09af11bee711fbe524d56a8f26ea7c5ccee8"},
        {"tokens", 65536}}},
      {"suites",
       {{{"name", "math-gsm8k"},
         {"path", "suites/math-gsm8k.jsonl"},
         {"capability", "math"},
         {"version", "1"},
         {"sha256", "0eb1f54b7f3074588b21217c982fc2df1661808e37a22ac8d75351e43af5bfef"},
         {"items", 40}},
        {{"name", "tool-calls-json"},
         {"path", "suites/tool-calls-json.jsonl"},
         {"capability", "json"},
         {"version", "2"},
         {"sha256", "f9d35d43770d39092a663e665e82ae1d84a9e0da3d0d10c407acada6a40cd281"},
         {"items", 60}}}},
      {"gate",
       {{"path", "gate.toml"},
        {"confidence", 0.95},
        {"sha256", "c974e17b8e7321ce8c12983de3d0ed4a289821f579bbe0925b0181a4bc8e8d80"}}}};

  // Per-token KLD: roughly log-normal, 8 bins per decade from 1e-6 to 10.
  json edges = json::array(), counts = json::array();
  const int per_decade = 8, decades = 7;
  for (int i = 0; i <= per_decade * decades; ++i)
    edges.push_back(std::pow(10.0, -6.0 + double(i) / per_decade));
  for (int i = 0; i < per_decade * decades; ++i) {
    const double center = -6.0 + (i + 0.5) / per_decade;
    const double z = (center + 2.2) / 0.8;
    counts.push_back(
        std::llround(65536.0 / per_decade / (0.8 * std::sqrt(2 * M_PI)) * std::exp(-z * z / 2)));
  }
  r["distribution"] = {{"ctx", 512},
                       {"chunks", 128},
                       {"scored_tokens", 32768},
                       {"baseline_ppl", {{"value", 18.2417}, {"stderr", 0.1342}}},
                       {"candidate_ppl", {{"value", 18.9035}, {"stderr", 0.1398}}},
                       {"ppl_ratio", {{"value", 1.03628}, {"stderr", 0.00112}}},
                       {"kld",
                        {{"mean", {{"value", 0.02134}, {"ci", {0.02071, 0.02199}}}},
                         {"median", {{"value", 0.00612}, {"ci", {0.00597, 0.00628}}}},
                         {"p90", {{"value", 0.0481}, {"ci", {0.0466, 0.0497}}}},
                         {"p99", {{"value", 0.2315}, {"ci", {0.2188, 0.2459}}}},
                         {"p999", {{"value", 0.8873}, {"ci", {0.7702, 1.0312}}}},
                         {"max", {{"value", 3.1416}}}}},
                       {"kld_histogram", {{"edges", edges}, {"counts", counts}}},
                       {"same_top_pct", {{"value", 91.37}, {"ci", {91.06, 91.67}}}},
                       {"rms_dp_pct", {{"value", 4.218}, {"ci", {4.12, 4.31}}}},
                       {"baseline_cache", "hit"},
                       {"gate",
                        {{{"rule", "ppl_ratio < 1.05 with 95% confidence"}, {"pass", true}},
                         {{"rule", "kld_mean < 0.1 with 95% confidence"}, {"pass", true}}}}};

  json math = {
      {"capability", "math"},
      {"suite", "math-gsm8k"},
      {"items", 40},
      {"pass", false},
      {"metrics",
       {{{"name", "exact_match"},
         {"kind", "generated"},
         {"unit", "%"},
         {"higher_is_better", true},
         {"baseline", 35.0},
         {"candidate", 27.5},
         {"delta", -7.5},
         {"ci", {-15.0, -2.5}},
         {"confidence", 0.95},
         {"flips", {{"gained", 1}, {"lost", 4}, {"p_value", 0.375}}},
         {"mde", 9.8},
         {"gate",
          {{"rule", "delta > -3 with 95% confidence"}, {"min_delta", -3.0}, {"pass", false}}}},
        {{"name", "answer_logprob"},
         {"kind", "teacher_forced"},
         {"unit", "nats/token"},
         {"higher_is_better", true},
         {"baseline", -0.8123},
         {"candidate", -0.8441},
         {"delta", -0.0318},
         {"ci", {-0.0472, -0.0169}},
         {"confidence", 0.95},
         {"mde", 0.021},
         {"gate", {{"rule", "delta > -0.05 with 95% confidence"}, {"pass", true}}}},
        {{"name", "answer_kld"},
         {"kind", "teacher_forced"},
         {"unit", "nats/token"},
         {"higher_is_better", false},
         {"baseline", 0.0},
         {"candidate", 0.0391},
         {"delta", 0.0391},
         {"ci", {0.0322, 0.0467}},
         {"confidence", 0.95}}}},
      {"examples",
       {{{"id", "gsm8k-0017"},
         {"prompt", kHostilePrompt},
         {"baseline", "3 + 5 = 8. The answer is 8."},
         {"candidate", "3 & 5 make <b>35</b>. The answer is 35."},
         {"baseline_pass", true},
         {"candidate_pass", false},
         {"expected", "8"}},
        {{"id", "gsm8k-0031"},
         {"prompt", "Q: A train leaves at 3 pm ..."},
         {"baseline", "The answer is 12."},
         {"candidate", "The answer is 14."},
         {"baseline_pass", false},
         {"candidate_pass", true}}}}};
  json tools = {
      {"capability", "json"},
      {"suite", "tool-calls-json"},
      {"items", 60},
      {"pass", true},
      {"metrics",
       {{{"name", "call_accuracy"},
         {"kind", "generated"},
         {"unit", "%"},
         {"higher_is_better", true},
         {"baseline", 96.67},
         {"candidate", 95.0},
         {"delta", -1.67},
         {"ci", {-5.0, 1.67}},
         {"confidence", 0.95},
         {"flips", {{"gained", 1}, {"lost", 2}, {"p_value", 1.0}}},
         {"gate",
          {{"rule", "delta > -6 with 95% confidence"}, {"min_delta", -6.0}, {"pass", true}}}},
        {{"name", "answer_kld"},
         {"kind", "teacher_forced"},
         {"unit", "nats/token"},
         {"higher_is_better", false},
         {"baseline", 0.0},
         {"candidate", 0.0186},
         {"delta", 0.0186},
         {"ci", {0.0101, 0.0279}},
         {"confidence", 0.95},
         {"gate",
          {{"rule", "delta < 0.05 with 95% confidence"}, {"max_delta", 0.05}, {"pass", true}}}}}}};
  r["capabilities"] = {math, tools};

  json base_lat = json::array(), cand_lat = json::array();
  for (int i = 0; i < 32; ++i) {
    const double u = (i + 0.5) / 32.0;
    base_lat.push_back(std::round(1650.0 + 420.0 * u + (i == 31 ? 900.0 : 0.0)));
    cand_lat.push_back(std::round(780.0 + 230.0 * u * u + (i >= 30 ? 520.0 : 0.0)));
  }
  r["serving"] = {
      {"prompts", 32},
      {"threads", 16},
      {"gate",
       {{{"measure", "candidate peak RSS"}, {"rule", "peak_rss_bytes < 300 MiB"}, {"pass", true}}}},
      {"baseline",
       {{"file_bytes", 270898432},
        {"peak_rss_bytes", 412090368},
        {"prompt_tokens_per_s", 1043.2},
        {"gen_tokens_per_s", 48.7},
        {"latency_ms", {{"p50", 1862.0}, {"p99", 2861.0}, {"values", base_lat}}}}},
      {"candidate",
       {{"file_bytes", 105454592},
        {"peak_rss_bytes", 231735296},
        {"prompt_tokens_per_s", 1391.6},
        {"gen_tokens_per_s", 102.3},
        {"latency_ms", {{"p50", 842.0}, {"p99", 1521.0}, {"values", cand_lat}}}}}};
  r["timing"] = {
      {"total_seconds", 734.2}, {"baseline_seconds", 401.9}, {"candidate_seconds", 310.4}};
  return r;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Every '<' in the page must open or close a tag (text is escaped), and the elements must nest:
// returns what is wrong, or "" when the structure is sound.
std::string CheckStructure(const std::string& page) {
  static const std::set<std::string> kVoid = {"meta",  "br",   "hr",  "img",
                                              "input", "link", "wbr", "col"};
  std::vector<std::string> open;
  size_t i = 0;
  while ((i = page.find('<', i)) != std::string::npos) {
    if (page.compare(i, 2, "<!") == 0) {  // doctype
      i = page.find('>', i);
      if (i == std::string::npos) return "unterminated <!";
      continue;
    }
    const bool closing = i + 1 < page.size() && page[i + 1] == '/';
    size_t j = i + 1 + closing;
    while (j < page.size() && (std::isalnum(static_cast<unsigned char>(page[j])) || page[j] == '-'))
      ++j;
    const std::string name = Lower(page.substr(i + 1 + closing, j - i - 1 - closing));
    if (name.empty()) return "stray '<' at offset " + std::to_string(i);
    const size_t end = page.find('>', j);
    if (end == std::string::npos) return "unterminated <" + name;
    const bool self_closing = page[end - 1] == '/';
    if (closing) {
      if (open.empty() || open.back() != name) {
        return "</" + name + "> at offset " + std::to_string(i) + " closes <" +
               (open.empty() ? "" : open.back()) + ">";
      }
      open.pop_back();
    } else if (!self_closing && !kVoid.count(name)) {
      open.push_back(name);
    }
    i = end + 1;
    if (name == "style" && !closing) i = page.find("</style>", i);
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

// The page must stand alone: no scripts, nothing fetched.
void ExpectSelfContained(const std::string& page) {
  const std::string low = Lower(page);
  EXPECT_FALSE(Contains(low, "<script"));
  EXPECT_FALSE(Contains(low, "<link"));
  EXPECT_FALSE(Contains(low, "<img"));
  EXPECT_FALSE(Contains(low, "src="));
  EXPECT_FALSE(Contains(low, "url("));
  EXPECT_FALSE(Contains(low, "@import"));
  EXPECT_FALSE(Contains(low, "onload="));
  std::string rest = low;
  // The SVG namespace is an identifier, not a fetch.
  for (size_t p; (p = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;)
    rest.erase(p, 26);
  EXPECT_FALSE(Contains(rest, "http://"));
  EXPECT_FALSE(Contains(rest, "https://"));
}

TEST(HtmlReport, SampleReportShowsVerdictCapabilitiesAndNumbers) {
  const std::string page = RenderHtmlReport(SampleReport());
  EXPECT_EQ(CheckStructure(page), "");
  ExpectSelfContained(page);

  EXPECT_TRUE(Contains(page, "class=\"verdict fail\"")) << "the big badge shows the verdict";
  EXPECT_TRUE(Contains(page, "✗ FAIL"));
  EXPECT_FALSE(Contains(page, "class=\"verdict pass\""));
  EXPECT_TRUE(
      Contains(page,
               "math (math-gsm8k): exact_match delta -7.5 % (95% CI -15..-2.5) fails &#39;delta "
               "&gt; -3 with 95% confidence&#39;"));
  EXPECT_TRUE(Contains(page, "<span class=\"capname\">math</span>"));
  EXPECT_TRUE(Contains(page, "<span class=\"capname\">json</span>"));
  EXPECT_TRUE(Contains(page, "math-gsm8k"));
  EXPECT_TRUE(Contains(page, "tool-calls-json"));

  // The hostile prompt is escaped, and so are the generated texts.
  EXPECT_TRUE(Contains(page,
                       "Q: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Tom has 3 apples &amp; "
                       "buys &quot;5&quot; more."));
  EXPECT_TRUE(Contains(page, "3 &amp; 5 make &lt;b&gt;35&lt;/b&gt;."));
  EXPECT_FALSE(Contains(page, "<b>35</b>"));
  EXPECT_TRUE(Contains(page, "<details>"));

  // Numbers: perplexities with their errors, the ratio, KLD statistics, paired metrics.
  EXPECT_TRUE(Contains(page, "18.24 ± 0.13"));
  EXPECT_TRUE(Contains(page, "18.90 ± 0.14"));
  EXPECT_TRUE(Contains(page, "1.0363 ± 0.0011"));
  EXPECT_TRUE(Contains(page, "+3.63%"));
  EXPECT_TRUE(Contains(page, "0.02134"));
  EXPECT_TRUE(Contains(page, "[0.02071, 0.02199]"));
  EXPECT_TRUE(Contains(page, "91.37%"));
  EXPECT_TRUE(Contains(page, "35%"));
  EXPECT_TRUE(Contains(page, "27.5%"));
  EXPECT_TRUE(Contains(page, "-7.5 pp"));
  EXPECT_TRUE(Contains(page, "[-15, -2.5]"));
  EXPECT_TRUE(Contains(page, "+1 / −4"));
  EXPECT_TRUE(Contains(page, "p = 0.38"));
  EXPECT_TRUE(Contains(page, "delta &gt; -3 with 95% confidence"));
  EXPECT_TRUE(Contains(page, "-0.0318"));
  // Provenance and serving.
  EXPECT_TRUE(Contains(page, "a86a72df04500f55b719d0231762fd82c889238e7b0b3c8de0ef26057f5a49d4"));
  EXPECT_TRUE(Contains(page, "Q4_K_M"));
  EXPECT_TRUE(Contains(page, "258 MiB"));
  EXPECT_TRUE(Contains(page, "101 MiB"));
  EXPECT_TRUE(Contains(page, "2.57× smaller"));
  EXPECT_TRUE(Contains(page, "102.3 tokens/s"));
  EXPECT_TRUE(Contains(page, "2.1× faster"));
  EXPECT_TRUE(Contains(page, "1862 ms"));
  EXPECT_TRUE(Contains(page, "12 min 14 s"));
  EXPECT_TRUE(Contains(page, "intervals at 95% confidence"));
  EXPECT_TRUE(Contains(page, "suites/math-gsm8k.jsonl"));
  EXPECT_TRUE(Contains(page, "<td>ppl_ratio &lt; 1.05 with 95% confidence</td>"));
  EXPECT_TRUE(Contains(page, "<td>candidate peak RSS</td><td>peak_rss_bytes &lt; 300 MiB</td>"));
  EXPECT_TRUE(Contains(page, "32 prompts, 16 threads."));
  EXPECT_TRUE(Contains(page, "Report produced by qforge 0.1.0"));
}

TEST(HtmlReport, ChartsAreDrawnFromTheData) {
  const json report = SampleReport();
  const std::string page = RenderHtmlReport(report);
  // One <svg> each: KLD histogram, two forest plots, latency CDF.
  size_t svgs = 0;
  for (size_t p = 0; (p = page.find("<svg", p)) != std::string::npos; ++p) ++svgs;
  EXPECT_EQ(svgs, 4u);
  // A bar per non-empty histogram bin, each with its count in a tooltip.
  size_t nonempty = 0;
  for (const auto& c : report["distribution"]["kld_histogram"]["counts"])
    nonempty += c.get<int64_t>() > 0;
  size_t bars = 0;
  for (size_t p = 0; (p = page.find(" tokens</title></rect>", p)) != std::string::npos; ++p) ++bars;
  EXPECT_EQ(bars, nonempty);
  EXPECT_TRUE(Contains(page, "mean 0.0213"));
  EXPECT_TRUE(Contains(page, "p99 0.232"));
  // Forest plot rows: the failing metric as a FAIL, the ungated teacher-forced one drawn too.
  EXPECT_TRUE(Contains(page, ">-7.5 pp [-15, -2.5]</text>"));
  EXPECT_TRUE(Contains(page, ">answer_kld</text>"));
  EXPECT_TRUE(Contains(page, "not gated</text>"));
  EXPECT_TRUE(Contains(page, "baseline (32 prompts)"));
  EXPECT_TRUE(Contains(page, "candidate (32 prompts)"));
}

// A gate with both bounds, given only in the rule's text, shades both failing sides.
TEST(HtmlReport, ForestPlotReadsBothBoundsFromTheRule) {
  json report = {
      {"qforge_report", 1},
      {"capabilities",
       {{{"capability", "code"},
         {"metrics",
          {{{"name", "answer_logprob"},
            {"kind", "teacher_forced"},
            {"unit", "nats/token"},
            {"delta", 0.1},
            {"ci", {-0.2, 0.4}},
            {"gate",
             {{"rule", "delta > -1 with 95% confidence and delta < 2 with 95% confidence"},
              {"pass", true}}}}}}}}}};
  auto shaded = [](const std::string& page) {
    size_t n = 0;
    for (size_t p = 0; (p = page.find("fill-opacity=\"0.12\"", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  EXPECT_EQ(shaded(RenderHtmlReport(report)), 3u);  // the legend's swatch and both bounds
  report["capabilities"][0]["metrics"][0]["gate"]["rule"] = "delta > -1 with 95% confidence";
  EXPECT_EQ(shaded(RenderHtmlReport(report)), 2u);
  report["capabilities"][0]["metrics"][0]["gate"]["max_delta"] = 2.0;  // explicit bounds win
  EXPECT_EQ(shaded(RenderHtmlReport(report)), 2u);
  report["capabilities"][0]["metrics"][0]["gate"]["min_delta"] = -1.0;
  EXPECT_EQ(shaded(RenderHtmlReport(report)), 3u);
}

TEST(HtmlReport, PassingReportSaysSo) {
  json report = SampleReport();
  report["verdict"] = "pass";
  report["regressions"] = json::array();
  const std::string page = RenderHtmlReport(report);
  EXPECT_TRUE(Contains(page, "class=\"verdict pass\""));
  EXPECT_TRUE(Contains(page, "None: every gated metric passed its gate."));
  EXPECT_EQ(CheckStructure(page), "");
}

TEST(HtmlReport, NearEmptyReportRendersWithNotMeasured) {
  std::string page;
  ASSERT_NO_THROW(page = RenderHtmlReport(json{{"qforge_report", 1}}));
  EXPECT_EQ(CheckStructure(page), "");
  ExpectSelfContained(page);
  EXPECT_TRUE(Contains(page, "NO VERDICT"));
  EXPECT_TRUE(Contains(page, "Perplexity and KL divergence: not measured."));
  EXPECT_TRUE(Contains(page, "No capability suites: not measured."));
  EXPECT_TRUE(Contains(page, "Memory, throughput and latency: not measured."));
  EXPECT_FALSE(Contains(page, "Unexpected report format"));
  // Not even an object.
  for (const json& j : {json(), json(3), json("report"), json::array({1, 2}), json::object()}) {
    ASSERT_NO_THROW(page = RenderHtmlReport(j)) << j.dump();
    EXPECT_EQ(CheckStructure(page), "") << j.dump();
    EXPECT_TRUE(Contains(page, "Unexpected report format")) << j.dump();
  }
}

TEST(HtmlReport, WronglyTypedFieldsAreTreatedAsMissing) {
  json r = {{"qforge_report", "1"},
            {"verdict", true},
            {"regressions", "math failed"},
            {"provenance",
             {{"baseline", "f16.gguf"},
              {"candidate", {{"path", 7}, {"size_bytes", "big"}}},
              {"machine", {1, 2}},
              {"suites", json::array({json{{"name", 3}}})},
              {"gate", 1}}},
            {"distribution",
             {{"baseline_ppl", 18.2},
              {"ppl_ratio", {{"value", "1.03"}}},
              {"kld", {{"mean", {{"value", "x"}, {"ci", 1}}}}},
              {"kld_histogram", {{"edges", {1, "2", 3}}, {"counts", {1, 2}}}},
              {"same_top_pct", nullptr}}},
            {"capabilities",
             {"math",
              5,
              {{"capability", 1},
               {"metrics",
                {{{"name", 1},
                  {"delta", "-3"},
                  {"ci", {"a", "b"}},
                  {"gate", {{"rule", 3}, {"pass", "no"}}}}}}},
              {{"metrics", {1, nullptr}}, {"examples", {{{"prompt", 12}}, "x"}}}}},
            {"serving",
             {{"baseline", {{"latency_ms", {{"values", {"1", nullptr, 3.0}}}}}}, {"candidate", 4}}},
            {"timing", "long"}};
  std::string page;
  ASSERT_NO_THROW(page = RenderHtmlReport(r));
  EXPECT_EQ(CheckStructure(page), "");
  EXPECT_TRUE(Contains(page, "NO VERDICT"));
  EXPECT_TRUE(Contains(page, "not drawn: edges and counts must be arrays of numbers"));
  EXPECT_TRUE(Contains(page, "Capability entry 1 is not an object."));
}

// Every node of the sample report replaced in turn by values of other types (and numbers
// that make no sense there): the page still renders and stays well formed.
TEST(HtmlReport, EveryFieldMutatedStillRenders) {
  const json sample = SampleReport();
  const std::vector<json> replacements = {json(),
                                          json("text <b>&"),
                                          json(-1),
                                          json(1e308),
                                          json(true),
                                          json::array(),
                                          json::object(),
                                          json(std::numeric_limits<double>::quiet_NaN()),
                                          json(-std::numeric_limits<double>::infinity())};
  std::vector<json::json_pointer> paths;
  std::function<void(const json&, const json::json_pointer&)> walk =
      [&](const json& j, const json::json_pointer& p) {
        paths.push_back(p);
        if (j.is_object()) {
          for (auto it = j.begin(); it != j.end(); ++it) walk(it.value(), p / it.key());
        } else if (j.is_array()) {
          for (size_t i = 0; i < std::min<size_t>(j.size(), 3); ++i) walk(j[i], p / i);
        }
      };
  walk(sample, json::json_pointer());
  ASSERT_GT(paths.size(), 150u);
  for (const auto& p : paths) {
    for (const auto& v : replacements) {
      json r = sample;
      r[p] = v;
      std::string page;
      ASSERT_NO_THROW(page = RenderHtmlReport(r)) << p.to_string() << " = " << v.dump();
      ASSERT_EQ(CheckStructure(page), "") << p.to_string() << " = " << v.dump();
      ASSERT_FALSE(Contains(page, "<b>&")) << p.to_string();
    }
  }
}

// docs/report-format.md points the runner at docs/report-example.json: it is this test's sample
// report and renders every section.
TEST(HtmlReport, DocumentedExampleIsTheSampleAndRendersEverySection) {
  const std::string path = std::string(QFORGE_SOURCE_DIR) + "/docs/report-example.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing " << path;
  const json example = json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(example.is_discarded()) << path << " is not valid JSON";
  const json sample = SampleReport();
  EXPECT_TRUE(example == sample) << path << " differs from SampleReport() (JSON patch: "
                                 << json::diff(example, sample).dump()
                                 << "); write the new one with SampleReport().dump(2) (the "
                                    "HtmlReportChromium test leaves it in its temp dir)";
  const std::string page = RenderHtmlReport(example);
  EXPECT_EQ(CheckStructure(page), "");
  for (const char* absent : {": not measured.</p>", ": not recorded.</p>", "not drawn",
                             "Unexpected report format", "NO VERDICT"}) {
    EXPECT_FALSE(Contains(page, absent)) << absent;
  }
}

TEST(HtmlReportFormat, NumbersForPeople) {
  using namespace html;
  EXPECT_EQ(FormatNumber(12.5), "12.5");
  EXPECT_EQ(FormatNumber(0.021337), "0.02134");
  EXPECT_EQ(FormatNumber(1234.567), "1235");
  EXPECT_EQ(FormatNumber(1.5e-5), "1.5e-5");
  EXPECT_EQ(FormatNumber(0.00099996), "1e-3");
  EXPECT_EQ(FormatNumber(2.5e7), "2.5e7");
  EXPECT_EQ(FormatNumber(-0.00001), "-1e-5");
  EXPECT_EQ(FormatNumber(0.0), "0");
  EXPECT_EQ(FormatNumber(std::nan("")), "n/a");
  EXPECT_EQ(FormatSigned(2.5), "+2.5");
  EXPECT_EQ(FormatSigned(-0.25), "-0.25");
  EXPECT_EQ(FormatSigned(0.0), "0");
  EXPECT_EQ(FormatWithError(18.2417, 0.1342), "18.24 ± 0.13");
  EXPECT_EQ(FormatWithError(1.03628, 0.00112), "1.0363 ± 0.0011");
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(-1000), "-1,000");
  EXPECT_EQ(FormatCount(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(270898432), "258 MiB");
  EXPECT_EQ(FormatBytes(1.5 * 1024 * 1024 * 1024), "1.5 GiB");
  EXPECT_EQ(FormatDuration(0.25), "250 ms");
  EXPECT_EQ(FormatDuration(12.34), "12.3 s");
  EXPECT_EQ(FormatDuration(245), "4 min 05 s");
  EXPECT_EQ(FormatDuration(3720), "1 h 02 min");
  EXPECT_EQ(FormatDuration(1e300), "2.78e296 h");
  EXPECT_EQ(FormatPValue(0.0004), "p < 0.001");
  EXPECT_EQ(FormatPValue(0.031), "p = 0.031");
}

TEST(HtmlReportFormat, EscapeAndTruncate) {
  EXPECT_EQ(html::Escape("<a href=\"x\">Tom's & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(html::Escape(std::string("a\0b\x07"
                                     "c\td\n",
                                     8)),
            "abc\td\n");
  // "é" is two bytes: a cut inside it backs up to the character's start.
  EXPECT_EQ(html::Truncate("ab\xC3\xA9"
                           "cd",
                           3),
            "ab\n… (4 more bytes not shown)");
  EXPECT_EQ(html::Truncate("abc", 3), "abc");
}

// --- Rendering in a real browser -------------------------------------------------------------

std::string FindOnPath(const std::vector<std::string>& names) {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  for (const auto& name : names) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (dir.empty()) continue;
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

struct Png {
  bool valid = false;
  uint32_t width = 0, height = 0;
  size_t bytes = 0;
};

// Signature and IHDR chunk (width and height, big-endian) of a PNG file.
Png ReadPngHeader(const std::string& path) {
  const std::string data = ReadFile(path);
  Png png;
  png.bytes = data.size();
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (data.size() < 24 || data.compare(0, 8, reinterpret_cast<const char*>(kSignature), 8) != 0 ||
      data.compare(12, 4, "IHDR") != 0) {
    return png;
  }
  auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(data[at])) << 24 | uint32_t(uint8_t(data[at + 1])) << 16 |
           uint32_t(uint8_t(data[at + 2])) << 8 | uint32_t(uint8_t(data[at + 3]));
  };
  png.valid = true;
  png.width = be32(16);
  png.height = be32(20);
  return png;
}

TEST(HtmlReportChromium, ScreenshotIsFullSizeAndNotBlank) {
  const std::string chromium = FindOnPath({"chromium", "chromium-browser"});
  if (chromium.empty()) {
    GTEST_SKIP()
        << "no chromium or chromium-browser on PATH; scripts/setup.sh installs Debian's chromium";
  }
  const std::string dir = testing::TempDir() + "/html_report";
  std::filesystem::create_directories(dir);
  WriteFile(dir + "/report.json", SampleReport().dump(2));
  WriteFile(dir + "/report.html", RenderHtmlReport(SampleReport()));
  WriteFile(dir + "/blank.html",
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>\n");

  // Same command as for docs/report-screenshot.png, with a private profile directory so that
  // concurrent runs do not share one.
  auto screenshot = [&](const std::string& name) {
    const std::string cmd = fmt::format(
        "timeout 120 '{0}' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
        "--hide-scrollbars --user-data-dir='{1}/profile-{2}' --window-size=1280,2400 "
        "--screenshot='{1}/{2}.png' 'file://{1}/{2}.html' >'{1}/{2}.log' 2>&1",
        chromium, dir, name);
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  };
  const auto t0 = std::chrono::steady_clock::now();
  const int rc_report = screenshot("report");
  const int rc_blank = screenshot("blank");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(rc_report, 0) << (rc_report == 124 ? "timed out; " : "")
                          << ReadFile(dir + "/report.log");
  ASSERT_EQ(rc_blank, 0) << ReadFile(dir + "/blank.log");

  const Png report = ReadPngHeader(dir + "/report.png");
  const Png blank = ReadPngHeader(dir + "/blank.png");
  ASSERT_TRUE(report.valid) << "not a PNG: " << dir << "/report.png (" << report.bytes << " bytes)";
  ASSERT_TRUE(blank.valid) << "not a PNG: " << dir << "/blank.png";
  EXPECT_EQ(report.width, 1280u);
  EXPECT_EQ(report.height, 2400u);
  EXPECT_EQ(blank.width, 1280u);
  EXPECT_EQ(blank.height, 2400u);
  // A blank page compresses to almost nothing; text, tables and charts do not.
  EXPECT_GE(report.bytes, 3 * blank.bytes)
      << "report " << report.bytes << " bytes, blank " << blank.bytes;
  std::error_code ignored;
  std::filesystem::remove_all(dir + "/profile-report", ignored);
  std::filesystem::remove_all(dir + "/profile-blank", ignored);
  RecordProperty("chromium_seconds", std::to_string(seconds));
  RecordProperty("report_png_bytes", std::to_string(report.bytes));
  RecordProperty("blank_png_bytes", std::to_string(blank.bytes));
}

}  // namespace
}  // namespace qforge
