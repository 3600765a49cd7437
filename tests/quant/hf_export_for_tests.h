// Test-only writers of Hugging Face checkpoint directories. Hugging Face is unreachable from
// the test machines, so tests make their checkpoints: tiny hand-made ones, and the default
// GGUF model exported back to config.json + tokenizer.json + safetensors (with the query/key
// rows put back in Hugging Face's order), which the importer must turn into the same tensors.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/io/gguf_reader.h"

namespace qforge::testing {

struct SafetensorsEntry {
  std::string name;
  std::vector<int64_t> shape;  // PyTorch order: the last dimension is the row
  std::string dtype = "F32";   // F32, F16 or BF16
};

// Writes a safetensors file; `fill(i, values)` gives tensor i's values when its turn comes,
// so a large file is written one tensor at a time.
using FillFn = std::function<Status(size_t index, std::vector<float>& values)>;
Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsEntry>& entries,
                        const FillFn& fill);

Status WriteJson(const std::string& path, const nlohmann::json& value);

// GPT-2's byte-level alphabet: the token text of each byte value.
std::vector<std::string> ByteLevelAlphabet();

// The pre-tokenizer of SmolLM2's tokenizer.json (single digits, then GPT-2's byte-level split).
nlohmann::json SmolLMPreTokenizer();

// Exports a GGUF Llama model with a byte-level BPE vocabulary as a checkpoint directory:
// config.json, tokenizer.json, tokenizer_config.json and F32 safetensors in `n_shards` files
// (with model.safetensors.index.json when more than one).
Status ExportGgufAsHf(const std::string& gguf_path, const std::string& dir, int n_shards);

}  // namespace qforge::testing
