// GGUF v3 writer that streams tensor data. All tensors are declared first (their sizes follow
// from type and shape), the header is written, then each tensor's bytes are appended in
// declaration order, so a quantizer never holds more than one tensor. Output goes to a
// temporary file that is renamed into place by Finish(); an unfinished writer leaves nothing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/formats/ggml_type.h"
#include "qforge/io/gguf_value.h"

namespace qforge {

class GgufWriter {
 public:
  explicit GgufWriter(std::string path, uint32_t alignment = 32);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Adds or replaces a metadata entry (insertion order is kept).
  void SetMetadata(const std::string& key, GgufValue value);
  void RemoveMetadata(const std::string& key);
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }

  // Declares a tensor; returns an error for a shape the type cannot hold.
  Status AddTensor(const std::string& name, GgmlType type, const std::vector<int64_t>& shape);
  size_t tensor_count() const { return tensors_.size(); }
  uint64_t TensorBytes(size_t index) const { return tensors_[index].n_bytes; }

  // Writes the header to the temporary file. Call after every AddTensor.
  Status Begin();
  // Appends the next tensor's data; must be called once per tensor, in declaration order.
  Status WriteTensorData(std::span<const uint8_t> bytes);
  // Pads, flushes, closes and renames the temporary file to the final path.
  Status Finish();

  const std::string& path() const { return path_; }

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> shape;
    uint64_t n_bytes;
    uint64_t offset;
  };
  Status WriteBytes(const void* data, size_t n);
  Status WritePadding();

  std::string path_;
  std::string temp_path_;
  uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
  FILE* out_ = nullptr;
  uint64_t written_ = 0;
  size_t next_tensor_ = 0;
  bool finished_ = false;
};

// Serializes a GGUF file with every tensor's data in memory (tests and small files).
struct GgufTensorData {
  std::string name;
  GgmlType type;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
Status WriteGgufFile(const std::string& path,
                     const std::vector<std::pair<std::string, GgufValue>>& metadata,
                     const std::vector<GgufTensorData>& tensors, uint32_t alignment = 32);

}  // namespace qforge
