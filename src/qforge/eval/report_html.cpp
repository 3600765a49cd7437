// The page: style sheet, header with the verdict, provenance and footer; the result sections
// (distribution, capabilities, serving) are in report_html_results.cpp.
#include "qforge/eval/report_html.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

#include "qforge/eval/html_util.h"
#include "qforge/eval/report_html_sections.h"

namespace qforge {

namespace report_html {

using html::Escape;
using html::FormatNumber;
using html::JsonView;

std::string NotMeasured(const char* words) {
  return fmt::format("<span class=\"na\">{}</span>", words);
}

std::string NumberCell(const JsonView& v, int sig, const std::string& unit) {
  const auto n = v.Number();
  if (!n) return NotMeasured();
  return unit.empty() ? FormatNumber(*n, sig) : FormatNumber(*n, sig) + unit;
}

std::string TextCell(const JsonView& v) {
  if (const auto s = v.String()) return s->empty() ? NotMeasured("empty") : Escape(*s);
  if (const auto i = v.Integer()) return html::FormatCount(*i);
  if (const auto n = v.Number()) return FormatNumber(*n, 6);
  if (const auto b = v.Bool()) return *b ? "yes" : "no";
  return NotMeasured();
}

std::string Badge(std::optional<bool> pass, const char* unknown) {
  if (!pass) return fmt::format("<span class=\"badge none\">{}</span>", unknown);
  return *pass ? "<span class=\"badge pass\">✓ PASS</span>"
               : "<span class=\"badge fail\">✗ FAIL</span>";
}

std::string IntervalText(const JsonView& ci, int sig) {
  const auto lo = ci.At(0).Number(), hi = ci.At(1).Number();
  if (!lo || !hi) return "";
  return fmt::format("[{}, {}]", FormatNumber(*lo, sig), FormatNumber(*hi, sig));
}

std::string RatioWords(double base, double cand, const char* less, const char* more) {
  if (!(base > 0) || !(cand > 0)) return "";
  const double r = cand / base;
  if (std::fabs(r - 1.0) < 0.005) return "same";
  return r < 1 ? fmt::format("{}× {}", FormatNumber(1 / r, 3), less)
               : fmt::format("{}× {}", FormatNumber(r, 3), more);
}

void Tile(std::string& out, const std::string& value, const std::string& label) {
  Put(out, "<div class=\"tile\"><div class=\"v\">{}</div><div class=\"l\">{}</div></div>\n", value,
      label);
}

}  // namespace report_html

namespace {

using html::Escape;
using html::FormatNumber;
using html::JsonView;
using namespace report_html;

constexpr const char* kStyle = R"css(
:root { --pass: #1a7f37; --fail: #cf222e; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f4; color: #1f2328;
  font: 14px/1.45 system-ui, "DejaVu Sans", "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 8px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 10px; }
h3 { font-size: 16px; margin: 18px 0 8px; }
h4 { font-size: 14px; margin: 14px 0 6px; }
a { color: #0969da; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 0 0 16px; }
.top { display: flex; gap: 24px; align-items: center; }
.verdict { flex: none; min-width: 190px; text-align: center; font-size: 44px; font-weight: 800;
  letter-spacing: 0.04em; color: #fff; border-radius: 10px; padding: 10px 24px; }
.verdict.pass { background: var(--pass); }
.verdict.fail { background: var(--fail); }
.verdict.none { background: var(--muted); font-size: 24px; }
.verdict small { display: block; font-size: 13px; font-weight: 600; letter-spacing: 0; }
.models { margin: 2px 0; font-size: 15px; }
.meta, .sub, .lede { color: var(--muted); }
.sub { font-size: 12px; }
nav { margin-top: 8px; font-size: 13px; }
nav a { margin-right: 14px; }
.regressions { border-left: 5px solid var(--fail); }
.regressions.ok { border-left-color: var(--pass); }
.regressions ul { margin: 0; padding-left: 20px; }
.regressions li { margin: 3px 0; }
.warning { border-left: 5px solid #9a6700; background: #fff8c5; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(172px, 1fr)); gap: 10px; margin: 12px 0 4px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: var(--soft); }
.tile .v { font-size: 18px; font-weight: 700; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tile .l { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e5e8eb; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
tbody th { width: 170px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.narrow { width: auto; min-width: 520px; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.hash { word-break: break-all; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: var(--soft); border: 1px solid #e5e8eb;
  border-radius: 6px; padding: 8px 10px; margin: 4px 0 8px; max-height: 26em; overflow: auto; }
.na { color: var(--muted); font-style: italic; }
.badge { display: inline-block; border-radius: 5px; padding: 1px 8px; font-weight: 700; font-size: 12px;
  white-space: nowrap; color: #fff; }
.badge.pass { background: var(--pass); }
.badge.fail { background: var(--fail); }
.badge.none { background: #e5e8eb; color: #3d444d; font-weight: 600; }
.neg { color: var(--fail); }
.capname { font-size: 17px; font-weight: 700; margin-right: 8px; }
.chart { display: block; max-width: 100%; height: auto; margin: 8px 0; }
details { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 6px 0; background: #fff; }
summary { cursor: pointer; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
footer { max-width: 1180px; margin: 0 auto; padding: 4px 24px 24px; color: var(--muted); font-size: 12px; }
)css";

std::string FileName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "name.gguf (Q4_K_M, 4.85 bits/weight)" for the header.
std::string ModelLine(const JsonView& model) {
  const auto path = model["path"].String();
  std::string line = path ? Escape(FileName(*path)) : NotMeasured("unknown file");
  std::string details;
  if (const auto t = model["file_type"].String()) details = Escape(*t);
  if (const auto bpw = model["bits_per_weight"].Number()) {
    details += (details.empty() ? "" : ", ") + FormatNumber(*bpw, 3) + " bits/weight";
  }
  if (!details.empty()) line += " <span class=\"meta\">(" + details + ")</span>";
  return line;
}

void RenderHeader(std::string& out, const JsonView& r) {
  const JsonView prov = r["provenance"];
  const auto verdict = r["verdict"].String();
  const bool known = verdict && (*verdict == "pass" || *verdict == "fail");
  out += "<section class=\"card\"><div class=\"top\">\n";
  if (!known) {
    out +=
        "<div class=\"verdict none\" role=\"status\">NO VERDICT"
        "<small>the report has none</small></div>\n";
  } else if (*verdict == "pass") {
    out +=
        "<div class=\"verdict pass\" role=\"status\">✓ PASS"
        "<small>no gated regression</small></div>\n";
  } else {
    out +=
        "<div class=\"verdict fail\" role=\"status\">✗ FAIL"
        "<small>regression beyond the gate</small></div>\n";
  }
  out += "<div>\n<h1>qforge eval report</h1>\n";
  Put(out, "<p class=\"models\"><b>Candidate</b> {} &nbsp;vs&nbsp; <b>baseline</b> {}</p>\n",
      ModelLine(prov["candidate"]), ModelLine(prov["baseline"]));
  std::string meta;
  if (const auto c = prov["created"].String()) meta = "Created " + Escape(*c);
  if (const auto v = prov["qforge_version"].String())
    meta += (meta.empty() ? "" : " · ") + ("qforge " + Escape(*v));
  if (const auto t = r["timing"]["total_seconds"].Number()) {
    meta += (meta.empty() ? "" : " · ") + ("took " + html::FormatDuration(*t));
  }
  if (!meta.empty()) Put(out, "<p class=\"meta\">{}</p>\n", meta);
  out +=
      "<nav><a href=\"#provenance\">Provenance</a><a href=\"#distribution\">Distribution</a>"
      "<a href=\"#capabilities\">Capabilities</a><a href=\"#serving\">Serving</a></nav>\n";
  out += "</div></div>\n";

  // The numbers a reviewer looks at first.
  std::string tiles;
  const JsonView d = r["distribution"];
  if (const auto v = d["ppl_ratio"]["value"].Number()) {
    Tile(tiles, FormatNumber(*v, 4),
         fmt::format("perplexity ratio ({}%)", html::FormatSigned((*v - 1) * 100, 3)));
  }
  if (const auto v = d["kld"]["mean"]["value"].Number())
    Tile(tiles, FormatNumber(*v, 3), "mean KLD (nats/token)");
  if (const auto v = d["same_top_pct"]["value"].Number())
    Tile(tiles, FormatNumber(*v, 4) + "%", "same top token");
  int caps = 0, caps_pass = 0;
  for (const auto& c : r["capabilities"].Elements()) {
    if (const auto p = c["pass"].Bool()) {
      ++caps;
      caps_pass += *p;
    }
  }
  if (caps > 0)
    Tile(tiles, fmt::format("{} of {}", caps_pass, caps), "capabilities pass their gates");
  const JsonView s = r["serving"];
  const auto size_b = s["baseline"]["file_bytes"].Number()
                          ? s["baseline"]["file_bytes"].Number()
                          : prov["baseline"]["size_bytes"].Number();
  const auto size_c = s["candidate"]["file_bytes"].Number()
                          ? s["candidate"]["file_bytes"].Number()
                          : prov["candidate"]["size_bytes"].Number();
  if (size_b && size_c) {
    const std::string w = RatioWords(*size_b, *size_c, "smaller", "larger");
    if (!w.empty()) Tile(tiles, w, fmt::format("file size ({})", html::FormatBytes(*size_c)));
  }
  const auto gen_b = s["baseline"]["gen_tokens_per_s"].Number(),
             gen_c = s["candidate"]["gen_tokens_per_s"].Number();
  if (gen_b && gen_c) {
    const std::string w = RatioWords(*gen_b, *gen_c, "slower", "faster");
    if (!w.empty())
      Tile(tiles, w, fmt::format("generation ({} tokens/s)", FormatNumber(*gen_c, 3)));
  }
  if (!tiles.empty()) Put(out, "<div class=\"tiles\">\n{}</div>\n", tiles);
  out += "</section>\n";

  // Regressions.
  std::vector<std::string> items;
  for (const auto& e : r["regressions"].Elements()) {
    if (const auto t = e.String()) items.push_back(Escape(*t));
  }
  if (!items.empty()) {
    Put(out, "<section class=\"card regressions\"><h2>Regressions ({})</h2><ul>\n", items.size());
    for (const auto& t : items) Put(out, "<li>{}</li>\n", t);
    out += "</ul></section>\n";
  } else if (known && *verdict == "pass") {
    out +=
        "<section class=\"card regressions ok\"><h2>Regressions</h2>"
        "<p>None: every gated metric passed its gate.</p></section>\n";
  } else if (known) {
    out +=
        "<section class=\"card regressions\"><h2>Regressions</h2>"
        "<p>The report lists none.</p></section>\n";
  }
}

// Scalar members of an object as "key: value" lines (nested values are summarized).
std::string MembersText(const JsonView& obj) {
  std::string out;
  for (const auto& [key, value] : obj.Members()) {
    std::string v;
    if (value.IsObject() || value.IsArray()) {
      v = NotMeasured("(structured)");
    } else {
      v = TextCell(value);
    }
    const bool hash = key.find("sha256") != std::string::npos;
    Put(out, "<div>{}: {}{}{}</div>", Escape(key), hash ? "<code class=\"hash\">" : "", v,
        hash ? "</code>" : "");
  }
  return out.empty() ? NotMeasured("none recorded") : out;
}

std::string HashCell(const JsonView& v) {
  const auto s = v.String();
  return s ? fmt::format("<code class=\"hash\">{}</code>", Escape(*s)) : NotMeasured();
}

std::string BytesCell(const JsonView& v) {
  const auto n = v.Number();
  if (!n) return NotMeasured();
  const auto i = v.Integer();
  return i ? fmt::format("{} <span class=\"sub\">({} bytes)</span>", html::FormatBytes(*n),
                         html::FormatCount(*i))
           : html::FormatBytes(*n);
}

void RenderProvenance(std::string& out, const JsonView& prov, const JsonView& timing) {
  out += "<section class=\"card\" id=\"provenance\"><h2>Provenance</h2>\n";
  if (!prov.IsObject()) out += "<p class=\"na\">The report has no provenance.</p>\n";
  const JsonView b = prov["baseline"], c = prov["candidate"];
  out += "<table><thead><tr><th></th><th>Baseline</th><th>Candidate</th></tr></thead><tbody>\n";
  auto row = [&](const char* name, auto cell) {
    Put(out, "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>\n", name, cell(b), cell(c));
  };
  row("File", [](const JsonView& m) {
    return m["path"].String() ? "<code>" + TextCell(m["path"]) + "</code>" : NotMeasured();
  });
  row("Type", [](const JsonView& m) { return TextCell(m["file_type"]); });
  row("Bits per weight", [](const JsonView& m) { return NumberCell(m["bits_per_weight"], 4); });
  row("Size", [](const JsonView& m) { return BytesCell(m["size_bytes"]); });
  row("SHA-256", [](const JsonView& m) { return HashCell(m["sha256"]); });
  row("Quantization", [](const JsonView& m) {
    const JsonView q = m["quantization"];
    return q.IsObject() ? MembersText(q) : (q.String() ? TextCell(q) : NotMeasured("not recorded"));
  });
  out += "</tbody></table>\n";

  out += "<table><tbody>\n";
  auto line = [&](const char* name, const std::string& cell) {
    Put(out, "<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n", name, cell);
  };
  line("qforge version", TextCell(prov["qforge_version"]));
  line("Created", TextCell(prov["created"]));
  const JsonView machine = prov["machine"];
  if (machine.IsObject()) {
    // CPU and cores first, then whatever else the runner recorded.
    std::string cell = TextCell(machine["cpu"]);
    if (const auto n = machine["cores"].Integer()) cell += fmt::format(", {} cores", *n);
    for (const auto& [key, value] : machine.Members()) {
      if (key == "cpu" || key == "cores" || value.IsObject() || value.IsArray()) continue;
      Put(cell, "<div class=\"sub\">{}: {}</div>", Escape(key), TextCell(value));
    }
    line("Machine", cell);
  } else {
    line("Machine", TextCell(machine));
  }
  const auto seed = prov["seed"].Integer();
  line("Seed", seed ? std::to_string(*seed) : TextCell(prov["seed"]));
  line("Command",
       prov["command"].String() ? "<code>" + TextCell(prov["command"]) + "</code>" : NotMeasured());
  const JsonView text = prov["text"];
  if (text.IsObject()) {
    std::string cell = text["path"].String() ? "<code>" + TextCell(text["path"]) + "</code>"
                                             : NotMeasured("unnamed");
    if (const auto n = text["tokens"].Integer())
      cell += fmt::format(" · {} tokens", html::FormatCount(*n));
    if (text["sha256"].String())
      cell += "<div class=\"sub\">sha256 " + HashCell(text["sha256"]) + "</div>";
    line("Text", cell);
  } else {
    line("Text", NotMeasured("none (no distribution metrics)"));
  }
  const JsonView gate = prov["gate"];
  if (gate.IsObject()) {
    std::string cell = gate["path"].String() == std::optional<std::string>("defaults")
                           ? std::string("built-in defaults")
                           : (gate["path"].String() ? "<code>" + TextCell(gate["path"]) + "</code>"
                                                    : NotMeasured());
    if (const auto c = gate["confidence"].Number()) {
      cell += fmt::format(" · intervals at {}% confidence", FormatNumber(*c * 100, 3));
    }
    if (gate["sha256"].String())
      cell += "<div class=\"sub\">sha256 " + HashCell(gate["sha256"]) + "</div>";
    line("Gate", cell);
  } else {
    line("Gate", NotMeasured("not recorded"));
  }
  if (timing.IsObject()) {
    std::string cell = timing["total_seconds"].Number()
                           ? html::FormatDuration(*timing["total_seconds"].Number())
                           : NotMeasured();
    const auto tb = timing["baseline_seconds"].Number(), tc = timing["candidate_seconds"].Number();
    if (tb || tc) {
      cell += fmt::format(" <span class=\"sub\">(baseline {}, candidate {})</span>",
                          tb ? html::FormatDuration(*tb) : "n/a",
                          tc ? html::FormatDuration(*tc) : "n/a");
    }
    line("Duration", cell);
  }
  out += "</tbody></table>\n";

  const auto suites = prov["suites"].Elements();
  if (!suites.empty()) {
    out +=
        "<h3>Suites</h3>\n<table><thead><tr><th>Suite</th><th>Capability</th><th>Version</th>"
        "<th class=\"num\">Items</th><th>SHA-256</th></tr></thead><tbody>\n";
    for (const auto& s : suites) {
      std::string name = TextCell(s["name"]);
      if (s["path"].String())
        name += "<div class=\"sub\"><code>" + TextCell(s["path"]) + "</code></div>";
      Put(out, "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
          name, TextCell(s["capability"]), TextCell(s["version"]), TextCell(s["items"]),
          HashCell(s["sha256"]));
    }
    out += "</tbody></table>\n";
  }
  out += "</section>\n";
}

void RenderFooter(std::string& out, const JsonView& r) {
  const auto produced = r["provenance"]["qforge_version"].String();
  std::string text =
      produced ? "Report produced by qforge " + Escape(*produced) : "Report producer unknown";
  if (!produced || *produced != QFORGE_VERSION)
    text += fmt::format("; page rendered by qforge {}", QFORGE_VERSION);
  if (const auto c = r["provenance"]["created"].String()) text += " on " + Escape(*c);
  Put(out,
      "<footer>{}. Report schema qforge_report {}. The same data, for machines: "
      "report.json.</footer>\n",
      text, TextCell(r["qforge_report"]));
}

}  // namespace

std::string RenderHtmlReport(const nlohmann::json& report) {
  const JsonView r(report);
  std::string out;
  out.reserve(64 * 1024);
  std::string title = "qforge eval report";
  if (const auto v = r["verdict"].String(); v && (*v == "pass" || *v == "fail")) {
    title = (*v == "pass" ? "PASS · " : "FAIL · ") + title;
  }
  if (const auto p = r["provenance"]["candidate"]["path"].String())
    title += " · " + Escape(FileName(*p));
  Put(out,
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"qforge {}\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
      QFORGE_VERSION, title, kStyle);
  const auto schema = r["qforge_report"].Integer();
  if (schema != std::optional<int64_t>(1)) {
    Put(out,
        "<section class=\"card warning\"><b>Unexpected report format.</b> This page reads "
        "qforge_report 1; the report says {}. Fields it does not know are not shown.</section>\n",
        schema ? std::to_string(*schema) : "no version number");
  }
  RenderHeader(out, r);
  RenderProvenance(out, r["provenance"], r["timing"]);
  RenderDistribution(out, r["distribution"]);
  RenderCapabilities(out, r["capabilities"]);
  RenderServing(out, r["serving"]);
  out += "</main>\n";
  RenderFooter(out, r);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace qforge
