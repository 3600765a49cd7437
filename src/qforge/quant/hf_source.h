// A Hugging Face checkpoint directory (config.json, tokenizer.json, *.safetensors) read as a
// TensorSource, so `qforge quantize` needs no Python conversion step. Metadata and tensors
// are what llama.cpp's convert_hf_to_gguf.py would write: GGUF key names, GGUF tensor names,
// ggml shape order, and the query/key rows of Llama-family models permuted for llama.cpp's
// rotary embedding. docs/quantize-from-safetensors.md describes what is supported.
#pragma once

#include <memory>
#include <string>

#include "qforge/core/status.h"
#include "qforge/quant/tensor_source.h"

namespace qforge {

// Architectures: LlamaForCausalLM and MistralForCausalLM (GGUF "llama"), Qwen2ForCausalLM
// ("qwen2") and Qwen3ForCausalLM ("qwen3"). Tensors are read one at a time, on demand.
Expected<std::unique_ptr<TensorSource>> OpenHfSource(const std::string& dir);

}  // namespace qforge
