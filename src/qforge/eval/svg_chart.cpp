#include "qforge/eval/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

#include "qforge/eval/html_util.h"

namespace qforge::html {

namespace {

constexpr double kChartWidth = 1100.0;
constexpr const char* kGridColor = "#e5e8eb";
constexpr const char* kAxisColor = "#6e7781";
constexpr const char* kTextColor = "#1f2328";

// Maps a data interval onto a pixel interval, linearly or by log10. Values outside the domain
// (and non-positive values on a log scale) are clamped to its ends, so nothing is drawn
// outside the plot area.
struct Scale {
  double d0 = 0.0, d1 = 1.0;  // domain (log10 of it on a log scale)
  double r0 = 0.0, r1 = 1.0;  // pixels
  bool log = false;

  static Scale Make(double lo, double hi, double r0, double r1, bool log) {
    Scale s;
    s.log = log;
    s.d0 = log ? std::log10(lo) : lo;
    s.d1 = log ? std::log10(hi) : hi;
    if (!(s.d1 > s.d0)) s.d1 = s.d0 + 1.0;
    s.r0 = r0;
    s.r1 = r1;
    return s;
  }
  double operator()(double v) const {
    double a = log ? (v > 0 ? std::log10(v) : d0) : v;
    if (!std::isfinite(a)) a = d0;
    const double t = std::clamp((a - d0) / (d1 - d0), 0.0, 1.0);
    return r0 + t * (r1 - r0);
  }
};

// A step of 1, 2 or 5 times a power of ten giving about `target` intervals over the span.
double NiceStep(double span, int target) {
  if (!(span > 0) || !std::isfinite(span)) return 1.0;
  const double raw = span / std::max(1, target);
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw * 0.999) return m * p;
  }
  return 10.0 * p;
}

// Multiples of the step inside [lo, hi]; values within rounding noise of zero become zero.
std::vector<double> LinearTicks(double lo, double hi, double step) {
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9);
  for (double k = first; k * step <= hi + step * 1e-9 && ticks.size() < 50; k += 1.0) {
    const double v = k * step;
    ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return ticks;
}

// Powers of ten inside [lo, hi], with 2x and 5x added when there are fewer than three.
std::vector<double> LogTicks(double lo, double hi) {
  std::vector<double> ticks;
  const int e0 = static_cast<int>(std::floor(std::log10(lo)));
  const int e1 = static_cast<int>(std::ceil(std::log10(hi)));
  for (int e = e0; e <= e1; ++e) {
    const double v = std::pow(10.0, e);
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
  }
  if (ticks.size() < 3) {
    ticks.clear();
    for (int e = e0; e <= e1; ++e) {
      for (const double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
      }
    }
  }
  return ticks;
}

std::string Superscript(int n) {
  static constexpr const char* kDigits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
  std::string out = n < 0 ? "⁻" : "";
  for (const char c : std::to_string(std::abs(n))) out += kDigits[c - '0'];
  return out;
}

// Tick labels: "10⁻⁴" for powers of ten far from 1 on log axes, plain numbers otherwise.
std::string TickLabel(double v, bool log) {
  if (log && v > 0) {
    const double e = std::log10(v);
    const int ei = static_cast<int>(std::lround(e));
    if (std::fabs(e - ei) < 1e-9 && (ei < -2 || ei > 4)) return "10" + Superscript(ei);
  }
  return FormatNumber(v, 3);
}

// At most max_chars characters (code points) of the text, ending in "…" when cut.
std::string Ellipsize(const std::string& text, size_t max_chars) {
  auto is_start = [&](size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80; };
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) chars += is_start(i);
  if (chars <= max_chars || max_chars == 0) return text;
  size_t kept = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_start(i) && kept++ == max_chars - 1) return text.substr(0, i) + "…";
  }
  return text;
}

std::string Px(double v) {
  return fmt::format("{:.1f}", v);
}

void OpenSvg(std::string& out, double height, const std::string& title) {
  fmt::format_to(
      std::back_inserter(out),
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"{2}\" font-family=\"system-ui, "
      "'DejaVu Sans', 'Segoe UI', sans-serif\" font-size=\"12\" fill=\"{3}\">"
      "<title>{2}</title>\n",
      kChartWidth, Px(height), Escape(title), kTextColor);
}

// Text with a white outline so it stays legible over lines and bars.
void HaloText(std::string& out, double x, double y, const std::string& anchor,
              const std::string& color, const std::string& text) {
  fmt::format_to(
      std::back_inserter(out),
      "<text x=\"{}\" y=\"{}\" text-anchor=\"{}\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"3\" "
      "paint-order=\"stroke\">{}</text>\n",
      Px(x), Px(y), anchor, color, Escape(text));
}

// Horizontal axis at y with ticks, labels and vertical grid lines from grid_top down to y.
void XAxis(std::string& out, const Scale& sx, const std::vector<double>& ticks, double y,
           double grid_top, const std::string& label, bool log) {
  for (const double t : ticks) {
    const double x = sx(t);
    fmt::format_to(std::back_inserter(out),
                   "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\"/>"
                   "<line x1=\"{0}\" y1=\"{2}\" x2=\"{0}\" y2=\"{4}\" stroke=\"{5}\"/>"
                   "<text x=\"{0}\" y=\"{6}\" text-anchor=\"middle\">{7}</text>\n",
                   Px(x), Px(grid_top), Px(y), kGridColor, Px(y + 5), kAxisColor, Px(y + 18),
                   Escape(TickLabel(t, log)));
  }
  fmt::format_to(std::back_inserter(out),
                 "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\"/>\n",
                 Px(std::min(sx.r0, sx.r1)), Px(std::max(sx.r0, sx.r1)), Px(y), kAxisColor);
  if (!label.empty()) {
    fmt::format_to(std::back_inserter(out),
                   "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"600\">{}</text>\n",
                   Px((sx.r0 + sx.r1) / 2), Px(y + 36), Escape(label));
  }
}

// Vertical axis at x with labels and horizontal grid lines to grid_right.
void YAxis(std::string& out, const Scale& sy, const std::vector<double>& ticks, double x,
           double grid_right, const std::string& label, bool percent) {
  for (const double t : ticks) {
    const double y = sy(t);
    const std::string text = percent ? FormatNumber(t * 100.0, 3) + "%" : FormatNumber(t, 4);
    fmt::format_to(std::back_inserter(out),
                   "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\"/>"
                   "<text x=\"{4}\" y=\"{5}\" text-anchor=\"end\">{6}</text>\n",
                   Px(x), Px(y), Px(grid_right), kGridColor, Px(x - 6), Px(y + 4), Escape(text));
  }
  fmt::format_to(std::back_inserter(out),
                 "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\"/>\n", Px(x),
                 Px(std::min(sy.r0, sy.r1)), Px(std::max(sy.r0, sy.r1)), kAxisColor);
  if (!label.empty()) {
    const double cy = (sy.r0 + sy.r1) / 2;
    fmt::format_to(std::back_inserter(out),
                   "<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\" "
                   "font-weight=\"600\">{}</text>\n",
                   Px(cy), Escape(label));
  }
}

std::string NotDrawn(const std::string& what, const std::string& why) {
  return fmt::format("<p class=\"na\">{} not drawn: {}.</p>\n", Escape(what), Escape(why));
}

}  // namespace

std::string RenderLogHistogram(const LogHistogram& chart) {
  std::vector<double> edges = chart.edges;
  const std::vector<double>& counts = chart.counts;
  if (counts.empty() || edges.size() != counts.size() + 1) {
    return NotDrawn(chart.title, fmt::format("{} edges for {} bins (need one more edge than bins)",
                                             edges.size(), counts.size()));
  }
  if (counts.size() > 2000) return NotDrawn(chart.title, "more than 2000 bins");
  // A first edge of zero (a bin collecting everything below the second edge) is drawn one log
  // step below the second edge.
  if (edges[0] <= 0 && edges.size() >= 3 && edges[1] > 0 && edges[2] > edges[1]) {
    edges[0] = edges[1] * edges[1] / edges[2];
  }
  for (size_t i = 0; i < edges.size(); ++i) {
    if (!(edges[i] > 0) || (i > 0 && !(edges[i] > edges[i - 1]))) {
      return NotDrawn(chart.title, "bin edges must be positive and increasing");
    }
  }
  double max_count = 0.0, total = 0.0;
  for (const double c : counts) {
    if (!(c >= 0)) return NotDrawn(chart.title, "negative bin count");
    max_count = std::max(max_count, c);
    total += c;
  }

  const double height = 330, left = 76, right = kChartWidth - 24, top = 30, bottom = height - 56;
  const Scale sx = Scale::Make(edges.front(), edges.back(), left, right, true);
  const double ystep = NiceStep(std::max(max_count, 1.0), 5);
  const double ymax = std::max(ystep, std::ceil(std::max(max_count, 1.0) / ystep) * ystep);
  const Scale sy = Scale::Make(0.0, ymax, bottom, top, false);

  std::string out;
  OpenSvg(out, height, chart.title);
  YAxis(out, sy, LinearTicks(0.0, ymax, ystep), left, right, chart.y_label, false);
  out += "<g fill=\"#4c78a8\">\n";
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] <= 0) continue;
    const double x0 = sx(edges[i]), x1 = sx(edges[i + 1]);
    const double y = sy(counts[i]);
    fmt::format_to(std::back_inserter(out),
                   "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{} to {}: {} "
                   "tokens</title></rect>\n",
                   Px(x0 + 0.5), Px(y), Px(std::max(0.6, x1 - x0 - 1.0)),
                   Px(std::max(0.0, bottom - y)), FormatNumber(edges[i], 3),
                   FormatNumber(edges[i + 1], 3), FormatNumber(counts[i], 8));
  }
  out += "</g>\n";
  XAxis(out, sx, LogTicks(edges.front(), edges.back()), bottom, top, chart.x_label, true);

  // Markers: a dashed line each, labels stacked so that neighbours do not overlap.
  for (size_t i = 0; i < chart.markers.size(); ++i) {
    const ChartMarker& m = chart.markers[i];
    if (!std::isfinite(m.x)) continue;
    const double x = sx(m.x);
    fmt::format_to(
        std::back_inserter(out),
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"2\" "
        "stroke-dasharray=\"6 4\"/>\n",
        Px(x), Px(top - 4), Px(bottom), m.color);
    const bool flip = x > left + 0.8 * (right - left);
    HaloText(out, flip ? x - 5 : x + 5, top + 10 + 16.0 * i, flip ? "end" : "start", m.color,
             m.label);
  }
  if (total <= 0)
    HaloText(out, (left + right) / 2, (top + bottom) / 2, "middle", kNeutralColor,
             "no tokens counted");
  out += "</svg>\n";
  return out;
}

std::string RenderForestPlot(const std::string& title, const std::vector<ForestPanel>& panels) {
  size_t nrows = 0;
  for (const auto& p : panels) nrows += p.rows.size();
  if (nrows == 0) return NotDrawn(title, "no gated or teacher-forced metrics");

  const double label_x = 8, plot_l = 300, plot_r = 790, text_x = 808, status_x = kChartWidth - 8;
  const double legend_h = 34, row_h = 40, axis_h = 50, gap = 10;
  double height = legend_h;
  for (const auto& p : panels) height += p.rows.empty() ? 0 : p.rows.size() * row_h + axis_h + gap;

  std::string out;
  OpenSvg(out, height, title);
  // Legend.
  const double ly = 16;
  fmt::format_to(
      std::back_inserter(out),
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2.5\"/>"
      "<circle cx=\"{4}\" cy=\"{1}\" r=\"5\" fill=\"{3}\"/>"
      "<text x=\"{5}\" y=\"{6}\">change (candidate − baseline) with its confidence "
      "interval</text>\n",
      Px(plot_l), Px(ly), Px(plot_l + 30), kNeutralColor, Px(plot_l + 15), Px(plot_l + 38),
      Px(ly + 4));
  fmt::format_to(
      std::back_inserter(out),
      "<rect x=\"{0}\" y=\"{1}\" width=\"22\" height=\"14\" fill=\"{2}\" fill-opacity=\"0.12\"/>"
      "<line x1=\"{3}\" y1=\"{1}\" x2=\"{3}\" y2=\"{4}\" stroke=\"{2}\" stroke-width=\"2\" "
      "stroke-dasharray=\"4 3\"/>"
      "<text x=\"{5}\" y=\"{6}\">gate threshold; shaded side fails</text>\n",
      Px(text_x), Px(ly - 7), kFailColor, Px(text_x + 22), Px(ly + 7), Px(text_x + 30), Px(ly + 4));

  double y = legend_h;
  for (const auto& panel : panels) {
    if (panel.rows.empty()) continue;
    // Domain: every interval, delta and bound, and zero, with a margin.
    double lo = 0.0, hi = 0.0;
    for (const auto& r : panel.rows) {
      for (const auto& v : {r.delta, r.lo, r.hi, r.min_delta, r.max_delta}) {
        if (v && std::isfinite(*v)) {
          lo = std::min(lo, *v);
          hi = std::max(hi, *v);
        }
      }
    }
    if (hi - lo <= 0) {
      lo -= 1.0;
      hi += 1.0;
    }
    const double pad = 0.06 * (hi - lo);
    const double step = NiceStep(hi - lo + 2 * pad, 8);
    lo = std::floor((lo - pad) / step) * step;
    hi = std::ceil((hi + pad) / step) * step;
    const Scale sx = Scale::Make(lo, hi, plot_l, plot_r, false);
    const double panel_top = y, panel_bottom = y + panel.rows.size() * row_h;

    for (size_t i = 0; i < panel.rows.size(); ++i) {
      const ForestRow& r = panel.rows[i];
      const double top = y + i * row_h, cy = top + row_h / 2;
      if (i % 2 == 0) {
        fmt::format_to(std::back_inserter(out),
                       "<rect x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f6f8fa\"/>\n",
                       Px(top), kChartWidth, Px(row_h));
      }
      for (const auto& [bound, below] :
           {std::pair{r.min_delta, true}, std::pair{r.max_delta, false}}) {
        if (!bound) continue;
        const double tx = sx(*bound);
        const double x0 = below ? plot_l : tx, x1 = below ? tx : plot_r;
        fmt::format_to(
            std::back_inserter(out),
            "<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" fill=\"{4}\" "
            "fill-opacity=\"0.12\"/>"
            "<line x1=\"{5}\" y1=\"{1}\" x2=\"{5}\" y2=\"{6}\" stroke=\"{4}\" stroke-width=\"2\" "
            "stroke-dasharray=\"4 3\"/>\n",
            Px(x0), Px(top + 2), Px(std::max(0.0, x1 - x0)), Px(row_h - 4), kFailColor, Px(tx),
            Px(top + row_h - 2));
      }
      fmt::format_to(std::back_inserter(out),
                     "<text x=\"{}\" y=\"{}\" font-weight=\"600\">{}</text>\n", Px(label_x),
                     Px(cy - 3), Escape(Ellipsize(r.label, 40)));
      fmt::format_to(std::back_inserter(out),
                     "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{}\">{}</text>\n",
                     Px(label_x), Px(cy + 12), kNeutralColor, Escape(Ellipsize(r.sublabel, 46)));
      const char* color = r.status == ForestRow::Status::kPass   ? kPassColor
                          : r.status == ForestRow::Status::kFail ? kFailColor
                                                                 : kNeutralColor;
      const char* status = r.status == ForestRow::Status::kPass   ? "✓ PASS"
                           : r.status == ForestRow::Status::kFail ? "✗ FAIL"
                                                                  : "not gated";
      if (r.lo && r.hi) {
        const double x0 = sx(*r.lo), x1 = sx(*r.hi);
        fmt::format_to(
            std::back_inserter(out),
            "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" "
            "stroke-width=\"2.5\"/>"
            "<line x1=\"{0}\" y1=\"{4}\" x2=\"{0}\" y2=\"{5}\" stroke=\"{3}\" stroke-width=\"2\"/>"
            "<line x1=\"{1}\" y1=\"{4}\" x2=\"{1}\" y2=\"{5}\" stroke=\"{3}\" "
            "stroke-width=\"2\"/>\n",
            Px(x0), Px(x1), Px(cy), color, Px(cy - 6), Px(cy + 6));
      }
      if (r.delta) {
        const double x = sx(*r.delta);
        if (r.status == ForestRow::Status::kFail) {  // a diamond
          fmt::format_to(std::back_inserter(out),
                         "<path d=\"M{} {}l7 7l-7 7l-7 -7z\" fill=\"{}\"/>\n", Px(x), Px(cy - 7),
                         color);
        } else if (r.status == ForestRow::Status::kPass) {
          fmt::format_to(std::back_inserter(out),
                         "<circle cx=\"{}\" cy=\"{}\" r=\"5.5\" fill=\"{}\"/>\n", Px(x), Px(cy),
                         color);
        } else {
          fmt::format_to(std::back_inserter(out),
                         "<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"#fff\" stroke=\"{}\" "
                         "stroke-width=\"2\"/>\n",
                         Px(x), Px(cy), color);
        }
      } else {
        HaloText(out, (plot_l + plot_r) / 2, cy + 4, "middle", kNeutralColor, "no delta reported");
      }
      fmt::format_to(std::back_inserter(out), "<text x=\"{}\" y=\"{}\">{}</text>\n", Px(text_x),
                     Px(cy + 4), Escape(Ellipsize(r.value_text, 34)));
      fmt::format_to(
          std::back_inserter(out),
          "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-weight=\"700\" fill=\"{}\">{}</text>\n",
          Px(status_x), Px(cy + 4), color, status);
    }
    // Zero line over the rows, then the axis.
    const double zx = sx(0.0);
    fmt::format_to(
        std::back_inserter(out),
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"1.2\"/>\n",
        Px(zx), Px(panel_top), Px(panel_bottom), kAxisColor);
    XAxis(out, sx, LinearTicks(lo, hi, step), panel_bottom, panel_bottom, "change in " + panel.unit,
          false);
    y = panel_bottom + axis_h + gap;
  }
  out += "</svg>\n";
  return out;
}

std::string RenderCdfChart(const std::string& title, const std::string& x_label,
                           const std::vector<CdfSeries>& series,
                           const std::vector<double>& guide_quantiles) {
  double lo = 0.0, hi = 0.0;
  bool any = false;
  for (const auto& s : series) {
    for (const double v : s.values) {
      if (!std::isfinite(v)) continue;
      lo = any ? std::min(lo, v) : v;
      hi = any ? std::max(hi, v) : v;
      any = true;
    }
  }
  if (!any) return NotDrawn(title, "no values");

  const double height = 340, left = 76, right = kChartWidth - 240, top = 20, bottom = height - 56;
  const bool log = lo > 0 && hi / lo > 20.0;
  std::vector<double> xticks;
  Scale sx;
  if (log) {
    const double l = std::pow(10.0, std::floor(std::log10(lo))),
                 h = std::pow(10.0, std::ceil(std::log10(hi)));
    sx = Scale::Make(l, h, left, right, true);
    xticks = LogTicks(l, h);
  } else {
    double l = lo, h = hi;
    if (h - l <= 0) {
      l -= std::max(1.0, std::fabs(l) * 0.1);
      h += std::max(1.0, std::fabs(h) * 0.1);
    }
    const double step = NiceStep(h - l, 8);
    l = std::floor(l / step) * step;
    h = std::ceil(h / step) * step;
    if (lo >= 0) l = std::max(0.0, l);
    sx = Scale::Make(l, h, left, right, false);
    xticks = LinearTicks(l, h, step);
  }
  const Scale sy = Scale::Make(0.0, 1.0, bottom, top, false);

  std::string out;
  OpenSvg(out, height, title);
  YAxis(out, sy, {0.0, 0.25, 0.5, 0.75, 1.0}, left, right, "share of prompts at or below", true);
  XAxis(out, sx, xticks, bottom, top, x_label, log);
  for (const double q : guide_quantiles) {
    const double gy = sy(q);
    fmt::format_to(std::back_inserter(out),
                   "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"{3}\" "
                   "stroke-dasharray=\"2 3\"/>\n",
                   Px(left), Px(right), Px(gy), kAxisColor);
    HaloText(out, left + 6, gy - 4, "start", kNeutralColor,
             fmt::format("p{}", FormatNumber(q * 100.0, 3)));
  }
  double legend_y = top + 10;
  for (const auto& s : series) {
    std::vector<double> v;
    for (const double x : s.values) {
      if (std::isfinite(x)) v.push_back(x);
    }
    std::sort(v.begin(), v.end());
    const std::string dash =
        s.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", Escape(s.dash));
    fmt::format_to(
        std::back_inserter(out),
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"2.5\"{4}/>"
        "<text x=\"{5}\" y=\"{6}\">{7} ({8} prompts)</text>\n",
        Px(right + 16), Px(legend_y), Px(right + 46), Escape(s.color), dash, Px(right + 52),
        Px(legend_y + 4), Escape(Ellipsize(s.name, 16)), v.size());
    legend_y += 22;
    if (v.empty()) continue;
    // A step function through at most ~1000 of the sorted values (evenly spaced ranks).
    const size_t n = v.size();
    const size_t stride = std::max<size_t>(1, n / 1000);
    std::string d = fmt::format("M{} {}", Px(sx(v[0])), Px(sy(0.0)));
    for (size_t i = 0; i < n; i += stride) {
      const size_t last = std::min(n, i + stride) - 1;  // the CDF reaches (last+1)/n at v[last]
      fmt::format_to(std::back_inserter(d), "H{}V{}", Px(sx(v[last])),
                     Px(sy(static_cast<double>(last + 1) / n)));
    }
    fmt::format_to(std::back_inserter(d), "H{}", Px(right));
    fmt::format_to(std::back_inserter(out),
                   "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"{}/>\n", d,
                   Escape(s.color), dash);
    for (const double q : guide_quantiles) {
      // Nearest-rank quantile: the smallest value with at least q of the sample at or below it.
      const size_t rank = std::clamp<size_t>(static_cast<size_t>(std::ceil(q * n)), 1, n);
      fmt::format_to(
          std::back_inserter(out),
          "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"#fff\" stroke=\"{}\" stroke-width=\"2\"/>\n",
          Px(sx(v[rank - 1])), Px(sy(q)), Escape(s.color));
    }
  }
  out += "</svg>\n";
  return out;
}

}  // namespace qforge::html
