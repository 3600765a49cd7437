// GGUF (v2/v3) reader: memory-mapped, zero-copy, strictly validated. Every count, length,
// dimension and offset is checked against the file size before use, so a damaged or hostile
// file yields an Error naming the file, the offset and the problem.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "qforge/core/status.h"
#include "qforge/formats/ggml_type.h"
#include "qforge/io/gguf_value.h"
#include "qforge/io/mapped_file.h"

namespace qforge {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;

struct GgufTensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> shape;  // shape[0] is the row length (ggml's ne[0])
  uint64_t offset = 0;         // relative to the start of the data section
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  int64_t n_elements() const;
  int64_t row_length() const { return shape.empty() ? 0 : shape[0]; }
  int64_t n_rows() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }
};

class GgufFile {
 public:
  static Expected<GgufFile> Open(const std::string& path);
  // Parses a buffer in memory; `keep_alive` owns the bytes (may be null if the caller does).
  static Expected<GgufFile> Parse(const uint8_t* data, size_t size, const std::string& name,
                                  std::shared_ptr<const void> keep_alive = nullptr);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* Find(const std::string& key) const;
  std::optional<int64_t> GetInt(const std::string& key) const;
  std::optional<double> GetFloat(const std::string& key) const;
  std::optional<std::string> GetString(const std::string& key) const;
  std::optional<bool> GetBool(const std::string& key) const;
  const GgufArray* GetArray(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;

 private:
  std::string path_;
  uint64_t file_size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::shared_ptr<const void> keep_alive_;
};

}  // namespace qforge
