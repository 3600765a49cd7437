// The report's three charts as inline SVG: a histogram on a logarithmic x-axis, a forest plot
// of paired deltas with their intervals and gate thresholds, and empirical CDFs. They take
// plain numbers (the JSON has been read and checked by the caller), escape every label, and
// return one <svg> element with a <title> and an aria-label, or a short HTML note saying why
// there is nothing to draw.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace qforge::html {

// Palette: distinguishable with the common color-vision deficiencies (Okabe and Ito), and every
// color is paired with a shape, dash pattern or text label.
inline constexpr const char* kBaselineColor = "#0072b2";   // blue
inline constexpr const char* kCandidateColor = "#c85a00";  // dark orange
inline constexpr const char* kPassColor = "#1a7f37";
inline constexpr const char* kFailColor = "#cf222e";
inline constexpr const char* kNeutralColor = "#57606a";

struct ChartMarker {
  double x = 0.0;
  std::string label;  // e.g. "mean 0.021"
  std::string color;
};

// Bins [edges[i], edges[i+1]) with counts[i]; edges positive and increasing, one more edge than
// counts. The x-axis is logarithmic, the y-axis linear from zero.
struct LogHistogram {
  std::string title;  // for the <title> and aria-label
  std::string x_label;
  std::string y_label;
  std::vector<double> edges;
  std::vector<double> counts;
  std::vector<ChartMarker> markers;  // vertical lines (clamped to the axis when outside it)
};
std::string RenderLogHistogram(const LogHistogram& chart);

// One row of a forest plot: the delta (candidate - baseline), its interval, and the gate's
// bounds on the delta. A gated row passes when its whole interval lies above min_delta and
// below max_delta; the plot shades the failing side of each bound.
struct ForestRow {
  enum class Status { kPass, kFail, kUngated };
  std::string label;     // metric name
  std::string sublabel;  // e.g. "teacher-forced, higher is better"
  std::optional<double> delta;
  std::optional<double> lo, hi;
  std::optional<double> min_delta, max_delta;
  Status status = Status::kUngated;
  std::string value_text;  // printed at the right, e.g. "-2.5 [-7.5, 2.5]"
};
// Rows that share a unit share an x-axis.
struct ForestPanel {
  std::string unit;  // axis label
  std::vector<ForestRow> rows;
};
std::string RenderForestPlot(const std::string& title, const std::vector<ForestPanel>& panels);

// Empirical CDFs of a few samples on one axis (log scale when the values span more than a
// factor of 20), with guide lines at the given quantiles.
struct CdfSeries {
  std::string name;
  std::vector<double> values;
  std::string color;
  std::string dash;  // SVG stroke-dasharray; empty for a solid line
};
std::string RenderCdfChart(const std::string& title, const std::string& x_label,
                           const std::vector<CdfSeries>& series,
                           const std::vector<double>& guide_quantiles);

}  // namespace qforge::html
