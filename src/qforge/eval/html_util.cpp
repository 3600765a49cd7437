#include "qforge/eval/html_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qforge::html {

JsonView JsonView::operator[](std::string_view key) const {
  if (!IsObject()) return JsonView();
  const auto it = j_->find(std::string(key));
  return it == j_->end() ? JsonView() : JsonView(&*it);
}

JsonView JsonView::At(size_t i) const {
  if (!IsArray() || i >= j_->size()) return JsonView();
  return JsonView(&(*j_)[i]);
}

std::vector<JsonView> JsonView::Elements() const {
  std::vector<JsonView> out;
  if (!IsArray()) return out;
  out.reserve(j_->size());
  for (const auto& e : *j_) out.push_back(JsonView(&e));
  return out;
}

std::vector<std::pair<std::string, JsonView>> JsonView::Members() const {
  std::vector<std::pair<std::string, JsonView>> out;
  if (!IsObject()) return out;
  for (auto it = j_->begin(); it != j_->end(); ++it)
    out.emplace_back(it.key(), JsonView(&it.value()));
  return out;
}

std::optional<double> JsonView::Number() const {
  if (!j_ || !j_->is_number()) return std::nullopt;
  const double v = j_->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> JsonView::Integer() const {
  if (!j_ || !j_->is_number()) return std::nullopt;
  if (j_->is_number_integer() && !j_->is_number_unsigned()) return j_->get<int64_t>();
  if (j_->is_number_unsigned()) {
    const uint64_t u = j_->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  const double v = j_->get<double>();
  // 2^63 is exactly representable; anything at or above it does not fit.
  if (!std::isfinite(v) || v != std::floor(v) || std::fabs(v) >= 9.2233720368547758e18)
    return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<std::string> JsonView::String() const {
  if (!j_ || !j_->is_string()) return std::nullopt;
  return j_->get_ref<const std::string&>();
}

std::optional<bool> JsonView::Bool() const {
  if (!j_ || !j_->is_boolean()) return std::nullopt;
  return j_->get<bool>();
}

std::optional<std::vector<double>> JsonView::NumberArray() const {
  if (!IsArray()) return std::nullopt;
  std::vector<double> out;
  out.reserve(j_->size());
  for (const auto& e : *j_) {
    const auto v = JsonView(&e).Number();
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}

std::vector<double> JsonView::FiniteNumbers() const {
  std::vector<double> out;
  if (!IsArray()) return out;
  out.reserve(j_->size());
  for (const auto& e : *j_) {
    if (const auto v = JsonView(&e).Number()) out.push_back(*v);
  }
  return out;
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\t':
      case '\n':
      case '\r':
        out += c;
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) break;  // control characters
        out += c;
    }
  }
  return out;
}

std::string Truncate(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("{}\n… ({} more bytes not shown)", text.substr(0, cut), text.size() - cut);
}

namespace {

// Drops trailing zeros of a fixed-point number ("2.500" -> "2.5", "3.000" -> "3").
std::string TrimZeros(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::string FormatNumber(double v, int sig) {
  if (!std::isfinite(v)) return "n/a";
  if (v == 0.0) return "0";
  sig = std::max(1, sig);
  const double a = std::fabs(v);
  if (a < 1e-3 || a >= 1e6) {
    // Mantissa with sig digits, then a short exponent: 1.5e-5 rather than 1.500e-05.
    int exp = static_cast<int>(std::floor(std::log10(a)));
    double mant = v / std::pow(10.0, exp);
    std::string m = TrimZeros(fmt::format("{:.{}f}", mant, sig - 1));
    if (m == "10" || m == "-10") {  // rounding carried into the next power of ten
      ++exp;
      m = v < 0 ? "-1" : "1";
    }
    return fmt::format("{}e{}", m, exp);
  }
  const int magnitude = static_cast<int>(std::floor(std::log10(a)));
  const int decimals = std::clamp(sig - 1 - magnitude, 0, 8);
  std::string s = TrimZeros(fmt::format("{:.{}f}", v, decimals));
  if (s == "-0") s = "0";
  return s;
}

std::string FormatSigned(double v, int sig) {
  std::string s = FormatNumber(v, sig);
  if (std::isfinite(v) && s != "0" && s[0] != '-') s.insert(s.begin(), '+');
  return s;
}

std::string FormatWithError(double v, double err) {
  if (!std::isfinite(v)) return "n/a";
  if (!std::isfinite(err) || err <= 0.0) return FormatNumber(v, 5);
  // Two significant digits of the error fix the number of decimals of both.
  const int decimals = std::clamp(1 - static_cast<int>(std::floor(std::log10(err))), 0, 8);
  return fmt::format("{:.{}f} ± {:.{}f}", v, decimals, err, decimals);
}

std::string FormatCount(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -(v + 1) + 1ull : static_cast<unsigned long long>(v));
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string FormatBytes(double bytes) {
  if (!std::isfinite(bytes)) return "n/a";
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = bytes;
  int u = 0;
  while (std::fabs(v) >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", FormatNumber(std::round(v), 6));
  return fmt::format("{} {}", FormatNumber(v, 3), kUnits[u]);
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "n/a";
  if (seconds < 1.0) return fmt::format("{} ms", FormatNumber(seconds * 1000.0, 3));
  if (seconds < 60.0) return fmt::format("{} s", FormatNumber(seconds, 3));
  if (seconds >= 3.6e9) return fmt::format("{} h", FormatNumber(seconds / 3600.0, 3));
  const auto total = static_cast<long long>(std::llround(seconds));
  if (total < 3600) return fmt::format("{} min {:02} s", total / 60, total % 60);
  return fmt::format("{} h {:02} min", total / 3600, (total % 3600) / 60);
}

std::string FormatPValue(double p) {
  if (!std::isfinite(p)) return "p n/a";
  if (p < 0.001) return "p < 0.001";
  return fmt::format("p = {}", FormatNumber(p, 2));
}

}  // namespace qforge::html
