// Quantization mixes: the names users pass to `qforge quantize --type` (Q4_K_M, Q3_K_S, ...)
// and the per-tensor types each stands for. The rules follow llama.cpp's for the Llama family
// so files of the same name are comparable; docs/quantization-mixes.md lists them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "qforge/formats/ggml_type.h"

namespace qforge {

struct MixInfo {
  std::string_view name;   // Q4_K_M
  GgmlType base;           // the type most tensors get
  uint32_t file_type;      // general.file_type (llama.cpp's llama_ftype value)
};

std::span<const MixInfo> AllMixes();
std::optional<MixInfo> FindMix(std::string_view name);  // case-insensitive

struct ModelShape {
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;
  bool tied_embeddings = false;
};

// Whether a tensor is a weight matrix that quantization applies to (norms, biases and 1-D
// tensors keep their type).
bool IsQuantizableTensor(const std::string& name, size_t n_dims);

// The type the mix gives this tensor (`pure`: the base type for every quantizable tensor),
// before shape fallbacks. `has_imatrix` changes a few of llama.cpp's rules.
GgmlType MixTensorType(const MixInfo& mix, const std::string& name, const ModelShape& shape,
                       bool has_imatrix, bool pure);

// A type whose block size divides `row_length`: `type` itself when it fits, else llama.cpp's
// fallback (256-block k-quants to 32-block types, then F16).
GgmlType FallbackForRowLength(GgmlType type, int64_t row_length);

}  // namespace qforge
