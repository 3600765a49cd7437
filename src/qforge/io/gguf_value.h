// GGUF metadata values. The variant index of GgufValue equals the GGUF type id of the value,
// so a value read from a file writes back with the same type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace qforge {

enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
inline constexpr uint32_t kGgufTypeCount = 13;

const char* GgufTypeName(GgufType type);

struct GgufArray;

// Arrays hold typed vectors; index = element type id. Bools are stored one byte each.
using GgufArrayStorage =
    std::variant<std::vector<uint8_t>, std::vector<int8_t>, std::vector<uint16_t>,
                 std::vector<int16_t>, std::vector<uint32_t>, std::vector<int32_t>,
                 std::vector<float>, std::vector<uint8_t> /*bool*/, std::vector<std::string>,
                 std::vector<GgufArray>, std::vector<uint64_t>, std::vector<int64_t>,
                 std::vector<double>>;

struct GgufArray {
  GgufArrayStorage items;
  GgufType element_type() const { return static_cast<GgufType>(items.index()); }
  size_t size() const;
};

using GgufValue = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, GgufArray, uint64_t, int64_t, double>;

inline GgufType TypeOf(const GgufValue& v) { return static_cast<GgufType>(v.index()); }

// Integer value of any integer type (bools excluded); nullopt for other types or when an
// unsigned 64-bit value does not fit in int64.
std::optional<int64_t> AsInteger(const GgufValue& v);
// Float value of F32/F64 (and integers, which convert exactly enough for hyperparameters).
std::optional<double> AsDouble(const GgufValue& v);

// Short human-readable rendering ("[49152 strings]" for big arrays).
std::string FormatGgufValue(const GgufValue& v, size_t max_items = 8);

}  // namespace qforge
