// The result sections of the HTML report: next-token distributions (perplexity, KLD and its
// histogram), capabilities (paired metrics, forest plot, flipped items) and serving.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <set>

#include "qforge/eval/html_util.h"
#include "qforge/eval/report_html_sections.h"
#include "qforge/eval/svg_chart.h"

namespace qforge::report_html {

namespace {

using html::Escape;
using html::FormatNumber;
using html::FormatSigned;
using html::JsonView;

std::string ValueWithError(const JsonView& v) {
  const auto value = v["value"].Number();
  if (!value) return NotMeasured();
  const auto err = v["stderr"].Number();
  return err ? html::FormatWithError(*value, *err) : FormatNumber(*value, 5);
}

// Gate checks on whole-run measures (distribution or serving): [measure,] rule, result.
void RenderGateChecks(std::string& out, const JsonView& checks) {
  const auto list = checks.Elements();
  if (list.empty()) return;
  const bool named = std::any_of(list.begin(), list.end(), [](const JsonView& g) {
    return g["measure"].String().has_value();
  });
  Put(out,
      "<table class=\"narrow\"><thead><tr>{}<th>Gate</th><th>Result</th></tr></thead><tbody>\n",
      named ? "<th>Measure</th>" : "");
  for (const auto& g : list) {
    Put(out, "<tr>{}<td>{}</td><td>{}</td></tr>\n",
        named ? "<td>" + TextCell(g["measure"]) + "</td>" : "",
        g["rule"].String() ? Escape(*g["rule"].String()) : NotMeasured("rule not recorded"),
        Badge(g["pass"].Bool()));
  }
  out += "</tbody></table>\n";
}

}  // namespace

void RenderDistribution(std::string& out, const JsonView& d) {
  out += "<section class=\"card\" id=\"distribution\"><h2>Next-token distributions</h2>\n";
  if (!d.IsObject()) {
    out += "<p class=\"na\">Perplexity and KL divergence: not measured.</p></section>\n";
    return;
  }
  std::string lede;
  if (const auto n = d["scored_tokens"].Integer()) lede += html::FormatCount(*n) + " scored tokens";
  if (const auto n = d["chunks"].Integer())
    lede += (lede.empty() ? "" : " in ") + html::FormatCount(*n) + " chunks";
  if (const auto n = d["ctx"].Integer())
    lede += fmt::format(" of {} tokens", html::FormatCount(*n));
  if (const auto c = d["baseline_cache"].String()) {
    lede += fmt::format("{}baseline logits {}", lede.empty() ? "" : "; ",
                        *c == "hit" ? "read from the cache"
                                    : (*c == "miss" ? "computed (cache miss)" : Escape(*c)));
  }
  if (!lede.empty()) Put(out, "<p class=\"lede\">{}.</p>\n", lede);

  out += "<div class=\"tiles\">\n";
  Tile(out, ValueWithError(d["baseline_ppl"]), "baseline perplexity");
  Tile(out, ValueWithError(d["candidate_ppl"]), "candidate perplexity");
  std::string ratio_label = "perplexity ratio (candidate / baseline)";
  if (const auto v = d["ppl_ratio"]["value"].Number()) {
    ratio_label = fmt::format("perplexity ratio: {}%", FormatSigned((*v - 1) * 100, 3));
  }
  Tile(out, ValueWithError(d["ppl_ratio"]), ratio_label);
  auto pct_tile = [&](const JsonView& v, const char* label) {
    std::string l = label;
    const std::string ci = IntervalText(v["ci"], 4);
    if (!ci.empty()) l += " " + ci;
    Tile(out, NumberCell(v["value"], 4, "%"), l);
  };
  pct_tile(d["same_top_pct"], "same top token");
  pct_tile(d["rms_dp_pct"], "RMS Δp (percentage points)");
  out += "</div>\n";
  RenderGateChecks(out, d["gate"]);

  // KLD statistics.
  const JsonView kld = d["kld"];
  out += "<h3>KL divergence per token, KL(baseline ‖ candidate) in nats</h3>\n";
  out +=
      "<table class=\"narrow\"><thead><tr><th>Statistic</th><th class=\"num\">Value</th>"
      "<th class=\"num\">Confidence interval</th></tr></thead><tbody>\n";
  static constexpr const char* kStats[][2] = {
      {"mean", "mean"},           {"median", "median"},          {"p90", "90th percentile"},
      {"p99", "99th percentile"}, {"p999", "99.9th percentile"}, {"max", "maximum"}};
  for (const auto& [key, name] : kStats) {
    const JsonView s = kld[key];
    const std::string ci = IntervalText(s["ci"], 4);
    Put(out, "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n", name,
        NumberCell(s["value"], 4), ci.empty() ? "" : ci);
  }
  out += "</tbody></table>\n";

  const JsonView hist = d["kld_histogram"];
  if (!hist.IsObject()) {
    out += "<p class=\"na\">Histogram of per-token KLD: not recorded.</p>\n";
  } else {
    html::LogHistogram chart;
    chart.title = "Histogram of per-token KL divergence (log-scaled bins)";
    chart.x_label = "KL divergence per token (nats, log scale)";
    chart.y_label = "tokens";
    const auto edges = hist["edges"].NumberArray();
    const auto counts = hist["counts"].NumberArray();
    if (!edges || !counts) {
      out +=
          "<p class=\"na\">Histogram of per-token KLD not drawn: edges and counts must be arrays "
          "of numbers.</p>\n"
          "</section>\n";
      return;
    }
    chart.edges = *edges;
    chart.counts = *counts;
    if (const auto v = kld["mean"]["value"].Number()) {
      chart.markers.push_back({*v, "mean " + FormatNumber(*v, 3), html::kBaselineColor});
    }
    if (const auto v = kld["p99"]["value"].Number()) {
      chart.markers.push_back({*v, "p99 " + FormatNumber(*v, 3), html::kFailColor});
    }
    out += html::RenderLogHistogram(chart);
  }
  out += "</section>\n";
}

namespace {

struct GateBounds {
  std::optional<double> min_delta, max_delta;
};

// The gate's bounds on the delta: gate.min_delta and gate.max_delta; else gate.threshold (a
// lower bound when higher is better, an upper one otherwise); else every "delta > X" and
// "delta < X" in the rule's text.
GateBounds ReadGateBounds(const JsonView& gate, bool higher_is_better) {
  GateBounds b{gate["min_delta"].Number(), gate["max_delta"].Number()};
  if (b.min_delta || b.max_delta) return b;
  if (const auto t = gate["threshold"].Number()) {
    (higher_is_better ? b.min_delta : b.max_delta) = t;
    return b;
  }
  const auto rule = gate["rule"].String();
  if (!rule) return b;
  for (size_t at = rule->find("delta"); at != std::string::npos; at = rule->find("delta", at + 5)) {
    size_t i = at + 5;
    while (i < rule->size() && (*rule)[i] == ' ') ++i;
    if (i >= rule->size() || ((*rule)[i] != '<' && (*rule)[i] != '>')) continue;
    const bool lower_bound = (*rule)[i] == '>';
    ++i;
    if (i < rule->size() && (*rule)[i] == '=') ++i;
    const char* start = rule->c_str() + i;
    char* end = nullptr;
    const double v = std::strtod(start, &end);
    if (end == start || !std::isfinite(v)) continue;
    (lower_bound ? b.min_delta : b.max_delta) = v;
  }
  return b;
}

struct UnitStyle {
  std::string value_suffix;  // after a value ("%")
  std::string delta_suffix;  // after a difference (" pp")
  std::string axis;          // forest plot axis
};

UnitStyle StyleFor(const std::optional<std::string>& unit) {
  if (!unit || unit->empty()) return {"", "", "metric units"};
  if (*unit == "%") return {"%", " pp", "percentage points"};
  return {"", "", *unit};
}

std::string Sublabel(const JsonView& m) {
  std::vector<std::string> parts;
  if (const auto k = m["kind"].String())
    parts.push_back(*k == "teacher_forced" ? "teacher-forced" : *k);
  if (const auto u = m["unit"].String()) parts.push_back(*u);
  if (const auto h = m["higher_is_better"].Bool())
    parts.push_back(*h ? "higher is better" : "lower is better");
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : " · ") + p;
  return s;
}

void RenderExamples(std::string& out, const JsonView& examples) {
  const auto items = examples.Elements();
  if (items.empty()) return;
  Put(out, "<h4>Items whose outcome flipped ({})</h4>\n", items.size());
  auto outcome = [](const JsonView& v) {
    const auto b = v.Bool();
    return !b ? std::string("<span class=\"na\">?</span>")
              : (*b ? "✓ pass" : "<span class=\"neg\">✗ fail</span>");
  };
  auto text_block = [](const JsonView& v) {
    const auto s = v.String();
    return s ? "<pre>" + Escape(html::Truncate(*s, 20000)) + "</pre>"
             : "<p>" + NotMeasured("not recorded") + "</p>";
  };
  for (const auto& e : items) {
    Put(out, "<details><summary><code>{}</code> &nbsp; baseline {} → candidate {}</summary>\n",
        e["id"].String() ? Escape(*e["id"].String()) : "(no id)", outcome(e["baseline_pass"]),
        outcome(e["candidate_pass"]));
    Put(out, "<h4>Prompt</h4>{}", text_block(e["prompt"]));
    if (e["expected"].String()) Put(out, "<h4>Expected</h4>{}", text_block(e["expected"]));
    out += "<div class=\"pair\">";
    for (const char* who : {"baseline", "candidate"}) {
      Put(out, "<div><h4>{} output</h4>{}", who[0] == 'b' ? "Baseline" : "Candidate",
          text_block(e[who]));
      if (const auto detail = e[std::string(who) + "_detail"].String()) {
        Put(out, "<p class=\"sub\">{}</p>", Escape(*detail));
      }
      out += "</div>";
    }
    out += "</div></details>\n";
  }
}

void RenderCapability(std::string& out, const JsonView& cap, size_t index) {
  const auto name = cap["capability"].String();
  Put(out,
      "<section class=\"card\" id=\"cap-{}\"><div><span class=\"capname\">{}</span> {}</div>\n",
      index, name ? Escape(*name) : NotMeasured("unnamed capability"),
      Badge(cap["pass"].Bool(), "no verdict"));
  std::string sub;
  if (const auto s = cap["suite"].String()) sub = "suite " + Escape(*s);
  if (const auto n = cap["items"].Integer())
    sub += (sub.empty() ? "" : " · ") + html::FormatCount(*n) + " items";
  if (!sub.empty()) Put(out, "<p class=\"sub\">{}</p>\n", sub);

  const auto metrics = cap["metrics"].Elements();
  if (metrics.empty()) {
    out += "<p class=\"na\">No metrics recorded.</p>\n";
  } else {
    std::set<double> levels;
    bool any_mde = false, any_flips = false;
    for (const auto& m : metrics) {
      if (const auto c = m["confidence"].Number()) levels.insert(*c);
      any_mde |= m["mde"].Number().has_value();
      any_flips |= m["flips"].IsObject();
    }
    const bool one_level = levels.size() == 1;
    const std::string ci_head = one_level ? FormatNumber(*levels.begin() * 100, 3) + "% CI" : "CI";
    Put(out,
        "<table><thead><tr><th>Metric</th><th class=\"num\">Baseline</th>"
        "<th class=\"num\">Candidate</th><th class=\"num\">Change</th>"
        "<th class=\"num\">{}</th>{}{}<th>Gate</th><th>Result</th></tr></thead><tbody>\n",
        ci_head,
        any_flips ? "<th class=\"num\" title=\"items gained / lost; McNemar exact test\">Flips</th>"
                  : "",
        any_mde ? "<th class=\"num\" title=\"minimum detectable effect (80% power)\">MDE</th>"
                : "");
    std::vector<html::ForestPanel> panels;
    for (const auto& m : metrics) {
      const UnitStyle u = StyleFor(m["unit"].String());
      const auto delta = m["delta"].Number();
      std::string ci = IntervalText(m["ci"], 3);
      if (!ci.empty() && !one_level && m["confidence"].Number()) {
        ci += fmt::format(" <span class=\"sub\">{}%</span>",
                          FormatNumber(*m["confidence"].Number() * 100, 3));
      }
      const JsonView gate = m["gate"];
      const auto gate_pass = gate["pass"].Bool();
      std::string flips;
      if (any_flips) {
        const JsonView f = m["flips"];
        const auto g = f["gained"].Integer(), l = f["lost"].Integer();
        flips = g && l ? fmt::format("+{} / −{}", *g, *l) : std::string();
        if (const auto p = f["p_value"].Number(); p && !flips.empty()) {
          flips += fmt::format("<div class=\"sub\">{}</div>", Escape(html::FormatPValue(*p)));
        }
        flips = "<td class=\"num\">" + flips + "</td>";
      }
      Put(out,
          "<tr><td><b>{}</b><div class=\"sub\">{}</div></td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"num{}\">{}</td>"
          "<td class=\"num\">{}</td>{}{}<td>{}</td><td>{}</td></tr>\n",
          TextCell(m["name"]), Escape(Sublabel(m)), NumberCell(m["baseline"], 4, u.value_suffix),
          NumberCell(m["candidate"], 4, u.value_suffix),
          gate_pass == std::optional<bool>(false) ? " neg" : "",
          delta ? FormatSigned(*delta, 3) + u.delta_suffix : NotMeasured(), ci, flips,
          any_mde ? "<td class=\"num\">" + NumberCell(m["mde"], 2, u.delta_suffix) + "</td>" : "",
          gate["rule"].String() ? Escape(*gate["rule"].String())
          : gate.IsObject()     ? NotMeasured("rule not recorded")
                                : NotMeasured("none"),
          gate.IsObject() ? Badge(gate_pass) : "<span class=\"badge none\">not gated</span>");

      // Forest plot rows: gated or teacher-forced metrics.
      if (!gate.IsObject() && m["kind"].String() != std::optional<std::string>("teacher_forced"))
        continue;
      html::ForestRow row;
      row.label = m["name"].String().value_or("(unnamed)");
      row.sublabel = Sublabel(m);
      row.delta = delta;
      row.lo = m["ci"].At(0).Number();
      row.hi = m["ci"].At(1).Number();
      const GateBounds bounds = ReadGateBounds(gate, m["higher_is_better"].Bool().value_or(true));
      row.min_delta = bounds.min_delta;
      row.max_delta = bounds.max_delta;
      row.status = !gate_pass   ? html::ForestRow::Status::kUngated
                   : *gate_pass ? html::ForestRow::Status::kPass
                                : html::ForestRow::Status::kFail;
      row.value_text = delta ? FormatSigned(*delta, 3) + u.delta_suffix : "";
      if (row.lo && row.hi)
        row.value_text +=
            fmt::format(" [{}, {}]", FormatNumber(*row.lo, 3), FormatNumber(*row.hi, 3));
      auto it = std::find_if(panels.begin(), panels.end(),
                             [&](const auto& p) { return p.unit == u.axis; });
      if (it == panels.end()) it = panels.insert(panels.end(), html::ForestPanel{u.axis, {}});
      it->rows.push_back(std::move(row));
    }
    out += "</tbody></table>\n";
    if (!panels.empty()) {
      out += html::RenderForestPlot("Change of each gated or teacher-forced metric of " +
                                        name.value_or("capability") +
                                        ", with its confidence interval and gate threshold",
                                    panels);
    }
  }
  RenderExamples(out, cap["examples"]);
  out += "</section>\n";
}

}  // namespace

void RenderCapabilities(std::string& out, const JsonView& capabilities) {
  const auto caps = capabilities.Elements();
  out += "<section class=\"card\" id=\"capabilities\"><h2>Capabilities</h2>\n";
  if (caps.empty()) {
    out += "<p class=\"na\">No capability suites: not measured.</p></section>\n";
    return;
  }
  out +=
      "<table><thead><tr><th>Capability</th><th>Suite</th><th class=\"num\">Items</th>"
      "<th class=\"num\">Gated metrics passed</th><th>Result</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < caps.size(); ++i) {
    const JsonView c = caps[i];
    int gated = 0, passed = 0;
    for (const auto& m : c["metrics"].Elements()) {
      if (const auto p = m["gate"]["pass"].Bool()) {
        ++gated;
        passed += *p;
      }
    }
    const auto name = c["capability"].String();
    Put(out,
        "<tr><td><a href=\"#cap-{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td>{}</td></tr>\n",
        i, name ? Escape(*name) : "(unnamed)", TextCell(c["suite"]), TextCell(c["items"]),
        gated ? fmt::format("{} of {}", passed, gated) : NotMeasured("none gated"),
        Badge(c["pass"].Bool(), "no verdict"));
  }
  out += "</tbody></table>\n</section>\n";
  for (size_t i = 0; i < caps.size(); ++i) {
    if (!caps[i].IsObject()) {
      Put(out,
          "<section class=\"card\" id=\"cap-{}\">"
          "<p class=\"na\">Capability entry {} is not an object.</p></section>\n",
          i, i + 1);
      continue;
    }
    RenderCapability(out, caps[i], i);
  }
}

void RenderServing(std::string& out, const JsonView& s) {
  out += "<section class=\"card\" id=\"serving\"><h2>Serving</h2>\n";
  if (!s.IsObject()) {
    out += "<p class=\"na\">Memory, throughput and latency: not measured.</p></section>\n";
    return;
  }
  std::string lede;
  if (const auto n = s["prompts"].Integer())
    lede = fmt::format("{} prompts", html::FormatCount(*n));
  if (const auto t = s["threads"].Integer())
    lede += (lede.empty() ? "" : ", ") + fmt::format("{} threads", *t);
  if (!lede.empty()) Put(out, "<p class=\"lede\">{}.</p>\n", lede);
  const JsonView b = s["baseline"], c = s["candidate"];
  out +=
      "<table><thead><tr><th>Measure</th><th class=\"num\">Baseline</th>"
      "<th class=\"num\">Candidate</th><th class=\"num\">Candidate vs baseline</th></tr>"
      "</thead><tbody>\n";
  struct Row {
    const char* name;
    std::optional<double> b, c;
    std::string (*format)(double);
    const char* less;
    const char* more;
  };
  auto bytes = [](double v) { return html::FormatBytes(v); };
  auto rate = [](double v) { return FormatNumber(v, 4) + " tokens/s"; };
  auto ms = [](double v) { return FormatNumber(v, 4) + " ms"; };
  const Row rows[] = {
      {"Model file", b["file_bytes"].Number(), c["file_bytes"].Number(), bytes, "smaller",
       "larger"},
      {"Peak memory (RSS)", b["peak_rss_bytes"].Number(), c["peak_rss_bytes"].Number(), bytes,
       "less", "more"},
      {"Prompt processing", b["prompt_tokens_per_s"].Number(), c["prompt_tokens_per_s"].Number(),
       rate, "slower", "faster"},
      {"Generation", b["gen_tokens_per_s"].Number(), c["gen_tokens_per_s"].Number(), rate, "slower",
       "faster"},
      {"Latency p50", b["latency_ms"]["p50"].Number(), c["latency_ms"]["p50"].Number(), ms,
       "faster", "slower"},
      {"Latency p99", b["latency_ms"]["p99"].Number(), c["latency_ms"]["p99"].Number(), ms,
       "faster", "slower"},
  };
  for (const Row& r : rows) {
    Put(out,
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td></tr>\n",
        r.name, r.b ? r.format(*r.b) : NotMeasured(), r.c ? r.format(*r.c) : NotMeasured(),
        r.b && r.c ? RatioWords(*r.b, *r.c, r.less, r.more) : std::string());
  }
  out += "</tbody></table>\n";
  RenderGateChecks(out, s["gate"]);
  html::CdfSeries sb{"baseline", b["latency_ms"]["values"].FiniteNumbers(), html::kBaselineColor,
                     ""};
  html::CdfSeries sc{"candidate", c["latency_ms"]["values"].FiniteNumbers(), html::kCandidateColor,
                     "7 4"};
  if (sb.values.empty() && sc.values.empty()) {
    out += "<p class=\"na\">Per-prompt latencies: not recorded.</p>\n";
  } else {
    out += "<h3>Latency per prompt (empirical distribution)</h3>\n";
    out += html::RenderCdfChart("Empirical CDF of per-prompt latency, baseline and candidate",
                                "latency (ms)", {sb, sc}, {0.5, 0.99});
  }
  out += "</section>\n";
}

}  // namespace qforge::report_html
