// The ggml tensor type ids that GGUF files use, with their block geometry. This table knows
// every type by name and size so that any GGUF file can be validated and described, including
// types qforge cannot compute with (see formats/registry.h for those it can).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace qforge {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
  Q2_0 = 42,
};

inline constexpr uint32_t kGgmlTypeIdLimit = 43;  // ids at or above this are unknown

struct GgmlTypeInfo {
  GgmlType type;
  std::string_view name;  // ggml's own lower-case name ("q4_K", "f16", ...)
  uint32_t block_size;    // elements per block
  uint32_t block_bytes;   // bytes per block
};

// Information for a type id read from a file; nullopt for ids no ggml version defines.
std::optional<GgmlTypeInfo> LookupGgmlType(uint32_t id);
const GgmlTypeInfo& GgmlTypeInfoOf(GgmlType type);
// Case-insensitive lookup by ggml name ("Q4_K", "q4_k", "bf16").
std::optional<GgmlType> GgmlTypeFromName(std::string_view name);
inline std::string_view GgmlTypeName(GgmlType type) { return GgmlTypeInfoOf(type).name; }

// Bytes for one row of `n` elements; nullopt when n is not a multiple of the block size.
std::optional<uint64_t> RowBytes(GgmlType type, uint64_t n);

}  // namespace qforge
