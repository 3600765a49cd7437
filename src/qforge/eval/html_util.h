// Small pieces the HTML report is built from: a read-only view of a JSON document that never
// throws (a missing or wrongly typed field reads as absent), HTML escaping, and number formats
// for people (significant digits, signs, bytes, durations).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qforge::html {

// A possibly absent JSON value. Every accessor checks the type first: asking an array for a
// key, a string for a number, or an absent value for anything gives "absent", never an
// exception. The viewed document must outlive the view.
class JsonView {
 public:
  JsonView() = default;
  explicit JsonView(const nlohmann::json& j) : j_(&j) {}

  JsonView operator[](std::string_view key) const;  // member of an object
  JsonView At(size_t i) const;                      // element of an array

  bool IsObject() const { return j_ && j_->is_object(); }
  bool IsArray() const { return j_ && j_->is_array(); }
  // Present and not null.
  bool Present() const { return j_ && !j_->is_null(); }

  std::vector<JsonView> Elements() const;  // of an array; empty otherwise
  // Members of an object, sorted by key; empty otherwise.
  std::vector<std::pair<std::string, JsonView>> Members() const;

  // Finite numbers only (booleans are not numbers).
  std::optional<double> Number() const;
  // A number with an integral value (2 and 2.0; not 2.5), within int64 range.
  std::optional<int64_t> Integer() const;
  std::optional<std::string> String() const;
  std::optional<bool> Bool() const;
  // All elements of an array as numbers, or nothing when it is not an array or any element is
  // not a finite number (for data whose positions matter, such as histogram bins).
  std::optional<std::vector<double>> NumberArray() const;
  // The finite numbers among the elements of an array (others are skipped).
  std::vector<double> FiniteNumbers() const;

 private:
  explicit JsonView(const nlohmann::json* j) : j_(j) {}
  const nlohmann::json* j_ = nullptr;
};

// Escapes &, <, >, " and ' for use in text and attribute values; drops control characters
// other than tab, newline and carriage return.
std::string Escape(std::string_view text);

// At most max_bytes of text, cut at a UTF-8 character boundary, with a note of what was cut.
std::string Truncate(std::string_view text, size_t max_bytes);

// A number with about `sig` significant digits, trailing zeros dropped; scientific notation
// ("1.5e-5") below 1e-3 and from 1e6 up. Non-finite values give "n/a".
std::string FormatNumber(double v, int sig = 4);
// The same with an explicit sign ("+2.5", "-0.3", "0").
std::string FormatSigned(double v, int sig = 3);
// A value and its standard error with the value given to the error's precision
// ("12.345 ± 0.089").
std::string FormatWithError(double v, double err);
// Integer with thousands separators ("1,234,567").
std::string FormatCount(int64_t v);
// Binary units ("1.23 GiB", "512 B").
std::string FormatBytes(double bytes);
// "850 ms", "12.3 s", "4 min 05 s", "1 h 02 min".
std::string FormatDuration(double seconds);
// "p = 0.031", "p < 0.001".
std::string FormatPValue(double p);

}  // namespace qforge::html
