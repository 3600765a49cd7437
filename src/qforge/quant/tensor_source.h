// Where quantization reads a model from: metadata as GGUF key/values and every tensor as
// float32 on demand, one at a time, so memory holds one tensor rather than the model.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/formats/ggml_type.h"
#include "qforge/io/gguf_value.h"

namespace qforge {

class TensorSource {
 public:
  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;  // ggml order: shape[0] is the row length
    GgmlType type;               // the stored type
  };
  virtual ~TensorSource() = default;
  virtual const std::string& path() const = 0;
  virtual const std::vector<std::pair<std::string, GgufValue>>& metadata() const = 0;
  virtual const std::vector<Tensor>& tensors() const = 0;
  // The tensor's values as float32 (dequantized if stored quantized).
  virtual Status ReadFloat(size_t index, std::vector<float>& out) = 0;
  // The stored bytes when the source is GGUF (for copying tensors unchanged); empty otherwise.
  virtual std::span<const uint8_t> RawBytes(size_t index) const = 0;
  // Lets the operating system drop the pages of a tensor that has been consumed.
  virtual void Release(size_t index) {}
};

// A GGUF file (any supported tensor types).
Expected<std::unique_ptr<TensorSource>> OpenGgufSource(const std::string& path);

}  // namespace qforge
