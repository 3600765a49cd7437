#include "qforge/quant/mixes.h"

#include <array>
#include <cctype>
#include <cstdio>

namespace qforge {

namespace {

constexpr std::array<MixInfo, 19> kMixes = {{
    {"F32", GgmlType::F32, 0},      {"F16", GgmlType::F16, 1},
    {"BF16", GgmlType::BF16, 32},   {"Q4_0", GgmlType::Q4_0, 2},
    {"Q4_1", GgmlType::Q4_1, 3},    {"Q5_0", GgmlType::Q5_0, 8},
    {"Q5_1", GgmlType::Q5_1, 9},    {"Q8_0", GgmlType::Q8_0, 7},
    {"Q2_K", GgmlType::Q2_K, 10},   {"Q3_K_S", GgmlType::Q3_K, 11},
    {"Q3_K_M", GgmlType::Q3_K, 12}, {"Q3_K_L", GgmlType::Q3_K, 13},
    {"Q4_K_S", GgmlType::Q4_K, 14}, {"Q4_K_M", GgmlType::Q4_K, 15},
    {"Q5_K_S", GgmlType::Q5_K, 16}, {"Q5_K_M", GgmlType::Q5_K, 17},
    {"Q6_K", GgmlType::Q6_K, 18},   {"IQ4_NL", GgmlType::IQ4_NL, 25},
    {"IQ4_XS", GgmlType::IQ4_XS, 30},
}};

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Layer index from "blk.N....", -1 when absent.
int LayerOf(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

// Layers that get extra bits in the _M mixes: the first and last eighth, and every third
// layer in between.
bool UseMoreBits(int layer, int n_layer) {
  return layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
}

}  // namespace

std::span<const MixInfo> AllMixes() { return kMixes; }

std::optional<MixInfo> FindMix(std::string_view name) {
  for (const auto& mix : kMixes) {
    if (mix.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      same = std::toupper(static_cast<unsigned char>(name[i])) == mix.name[i];
    }
    if (same) return mix;
  }
  return std::nullopt;
}

bool IsQuantizableTensor(const std::string& name, size_t n_dims) {
  return n_dims >= 2 && EndsWith(name, "weight") && !Contains(name, "_norm.weight") &&
         !Contains(name, "rope_freqs") && !Contains(name, "ffn_gate_inp.weight");
}

GgmlType MixTensorType(const MixInfo& mix, const std::string& name, const ModelShape& shape,
                       bool has_imatrix, bool pure) {
  const GgmlType base = mix.base;
  const std::string_view m = mix.name;
  if (pure || base == GgmlType::F32 || base == GgmlType::F16 || base == GgmlType::BF16) return base;
  const bool is_output = name == "output.weight";
  const bool is_embd = name == "token_embd.weight";
  // The output head (also the embeddings when tied) gets Q6_K unless the mix is Q8_0.
  if (is_output || (is_embd && shape.tied_embeddings)) {
    return base == GgmlType::Q8_0 ? base : GgmlType::Q6_K;
  }
  if (is_embd) return base;
  const int layer = LayerOf(name);
  const int n_layer = shape.n_layer;
  const int gqa = shape.n_head_kv > 0 ? shape.n_head / shape.n_head_kv : 1;
  if (Contains(name, "attn_v.weight")) {
    if (m == "Q2_K") return gqa >= 4 ? GgmlType::Q4_K : GgmlType::Q3_K;
    if (m == "Q3_K_M") return layer < 2 ? GgmlType::Q5_K : GgmlType::Q4_K;
    if (m == "Q3_K_L") return GgmlType::Q5_K;
    if ((m == "IQ4_NL" || m == "IQ4_XS") && gqa >= 4) return GgmlType::Q5_K;
    if ((m == "Q4_K_M" || m == "Q5_K_M") && UseMoreBits(layer, n_layer)) return GgmlType::Q6_K;
    if (m == "Q4_K_S" && layer < 4) return GgmlType::Q5_K;
    return base;
  }
  if (Contains(name, "ffn_down.weight")) {
    if (m == "Q2_K") return GgmlType::Q3_K;
    if (m == "Q3_K_M") return layer < n_layer / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    if (m == "Q3_K_L") return GgmlType::Q5_K;
    if (m == "Q4_K_M") return UseMoreBits(layer, n_layer) ? GgmlType::Q6_K : base;
    if ((m == "IQ4_NL" || m == "IQ4_XS") && layer < n_layer / 8 && !has_imatrix) return GgmlType::Q5_K;
    if (m == "Q5_K_M" && UseMoreBits(layer, n_layer)) return GgmlType::Q6_K;
    if (m == "Q4_K_S" && layer < n_layer / 8) return GgmlType::Q5_K;
    if ((m == "Q4_0" || m == "Q5_0") && has_imatrix && layer < n_layer / 8) {
      return m == "Q4_0" ? GgmlType::Q4_1 : GgmlType::Q5_1;
    }
    return base;
  }
  if (Contains(name, "attn_output.weight")) {
    if (m == "Q2_K") return GgmlType::Q3_K;
    if (m == "Q3_K_M") return GgmlType::Q4_K;
    if (m == "Q3_K_L") return GgmlType::Q5_K;
    return base;
  }
  return base;
}

GgmlType FallbackForRowLength(GgmlType type, int64_t row_length) {
  if (row_length % GgmlTypeInfoOf(type).block_size == 0) return type;
  GgmlType fallback = GgmlType::F16;
  switch (type) {
    case GgmlType::IQ4_XS: fallback = GgmlType::IQ4_NL; break;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K: fallback = GgmlType::Q4_0; break;
    case GgmlType::Q4_K: fallback = GgmlType::Q5_0; break;
    case GgmlType::Q5_K: fallback = GgmlType::Q5_1; break;
    case GgmlType::Q6_K: fallback = GgmlType::Q8_0; break;
    default: break;
  }
  if (row_length % GgmlTypeInfoOf(fallback).block_size != 0) fallback = GgmlType::F16;
  return fallback;
}

}  // namespace qforge
