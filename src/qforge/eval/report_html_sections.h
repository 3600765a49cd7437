// Internal to the HTML report (report_html.cpp assembles the page): the renderers of its
// result sections and the small cell helpers they share. Each section appends to `out` and
// draws what the JSON holds, saying "not measured" where a field is absent or wrongly typed.
#pragma once

#include <fmt/format.h>

#include <iterator>
#include <optional>
#include <string>

#include "qforge/eval/html_util.h"

namespace qforge::report_html {

template <typename... Args>
void Put(std::string& out, fmt::format_string<Args...> f, Args&&... args) {
  fmt::format_to(std::back_inserter(out), f, std::forward<Args>(args)...);
}

// <span class="na">not measured</span>, or the given words.
std::string NotMeasured(const char* words = "not measured");
// A number to `sig` significant digits with an optional unit, or "not measured".
std::string NumberCell(const html::JsonView& v, int sig = 4, const std::string& unit = "");
// A string (escaped), number or boolean as text, or "not measured".
std::string TextCell(const html::JsonView& v);
// "✓ PASS" / "✗ FAIL" badge, or the given words when the result is unknown.
std::string Badge(std::optional<bool> pass, const char* unknown = "no result");
// "[lo, hi]" from a two-number array, or "" when it is not one.
std::string IntervalText(const html::JsonView& ci, int sig = 3);
// The candidate relative to the baseline in words: "2.57× smaller", "2.1× faster", "same";
// "" unless both are positive.
std::string RatioWords(double base, double cand, const char* less, const char* more);
// A summary tile: a big value over a small label.
void Tile(std::string& out, const std::string& value, const std::string& label);

void RenderDistribution(std::string& out, const html::JsonView& distribution);
void RenderCapabilities(std::string& out, const html::JsonView& capabilities);
void RenderServing(std::string& out, const html::JsonView& serving);

}  // namespace qforge::report_html
