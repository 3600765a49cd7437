#include "qforge/io/gguf_value.h"

#include <fmt/format.h>

namespace qforge {

const char* GgufTypeName(GgufType type) {
  static constexpr const char* kNames[kGgufTypeCount] = {
      "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  const auto index = static_cast<uint32_t>(type);
  return index < kGgufTypeCount ? kNames[index] : "unknown";
}

size_t GgufArray::size() const {
  return std::visit([](const auto& vec) { return vec.size(); }, items);
}

std::optional<int64_t> AsInteger(const GgufValue& v) {
  switch (TypeOf(v)) {
    case GgufType::UINT8: return std::get<uint8_t>(v);
    case GgufType::INT8: return std::get<int8_t>(v);
    case GgufType::UINT16: return std::get<uint16_t>(v);
    case GgufType::INT16: return std::get<int16_t>(v);
    case GgufType::UINT32: return std::get<uint32_t>(v);
    case GgufType::INT32: return std::get<int32_t>(v);
    case GgufType::INT64: return std::get<int64_t>(v);
    case GgufType::UINT64: {
      const uint64_t u = std::get<uint64_t>(v);
      if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    default: return std::nullopt;
  }
}

std::optional<double> AsDouble(const GgufValue& v) {
  if (TypeOf(v) == GgufType::FLOAT32) return std::get<float>(v);
  if (TypeOf(v) == GgufType::FLOAT64) return std::get<double>(v);
  if (auto i = AsInteger(v)) return static_cast<double>(*i);
  return std::nullopt;
}

namespace {

std::string Quote(const std::string& s, size_t max_chars = 60) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (c < 0x20) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  if (s.size() > max_chars) out += "...";
  return out + "\"";
}

template <class T>
std::string FormatScalar(const T& x) {
  if constexpr (std::is_same_v<T, std::string>) return Quote(x);
  else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
  else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) return fmt::format("{}", int(x));
  else if constexpr (std::is_same_v<T, GgufArray>) return "[array]";
  else return fmt::format("{}", x);
}

}  // namespace

std::string FormatGgufValue(const GgufValue& v, size_t max_items) {
  if (const auto* array = std::get_if<GgufArray>(&v)) {
    const size_t n = array->size();
    if (n > max_items) {
      return fmt::format("[{} x {}]", n, GgufTypeName(array->element_type()));
    }
    std::string out = "[";
    std::visit(
        [&](const auto& vec) {
          for (size_t i = 0; i < vec.size(); ++i) {
            if (i) out += ", ";
            using Element = typename std::decay_t<decltype(vec)>::value_type;
            if constexpr (std::is_same_v<Element, uint8_t>) {
              if (array->element_type() == GgufType::BOOL) {
                out += vec[i] ? "true" : "false";
                continue;
              }
            }
            out += FormatScalar(vec[i]);
          }
        },
        array->items);
    return out + "]";
  }
  return std::visit([](const auto& x) { return FormatScalar(x); }, v);
}

}  // namespace qforge
