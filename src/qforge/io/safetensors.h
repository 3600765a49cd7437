// safetensors reader: memory-mapped, zero-copy, strictly validated.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON
//   {"<tensor>": {"dtype": "F16", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"<key>": "<string>", ...}}
// then the data section; offsets are relative to the start of the data section. Every length,
// shape and offset is checked (overflow-safe) before use, so a damaged or hostile file yields an
// Error naming the file and the problem, never a crash.
//
// A Hugging Face checkpoint is a directory of one or more such files ("shards"), optionally with
// model.safetensors.index.json mapping each tensor to its shard; SafetensorsCheckpoint opens
// them all and finds tensors by name across shards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "qforge/core/status.h"

namespace qforge {

// The element types safetensors files use (sub-byte types such as F4/F6 are not supported).
enum class SafetensorsDtype : uint8_t {
  BOOL,
  U8,
  I8,
  F8_E4M3,
  F8_E5M2,
  F8_E8M0,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  I64,
  U64,
  F64,
  C64,
};

// The name as it appears in a header ("BF16").
std::string_view SafetensorsDtypeName(SafetensorsDtype dtype);
// Exact, case-sensitive lookup of a header dtype name; nullopt for unknown names.
std::optional<SafetensorsDtype> SafetensorsDtypeFromName(std::string_view name);
// Bytes per element.
size_t SafetensorsDtypeSize(SafetensorsDtype dtype);
// True for the dtypes qforge computes with (F32, F16, BF16), which convert to float32 exactly.
bool IsFloat32Convertible(SafetensorsDtype dtype);

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::F32;
  std::vector<int64_t> shape;     // outermost first (PyTorch order): shape.back() is the row length
  uint64_t offset = 0;            // data_offsets[0], relative to the start of the data section
  uint64_t n_bytes = 0;           // data_offsets[1] - data_offsets[0]
  const uint8_t* data = nullptr;  // into the mapping; not aligned in general

  int64_t n_elements() const;  // 1 for a scalar (empty shape)
  std::span<const uint8_t> bytes() const { return {data, static_cast<size_t>(n_bytes)}; }
};

class SafetensorsFile {
 public:
  // The reference implementation's limit on the JSON header.
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;
  static constexpr size_t kMaxDims = 16;
  static constexpr int kMaxJsonDepth = 16;

  static Expected<SafetensorsFile> Open(const std::string& path);
  // Parses a buffer in memory; `keep_alive` owns the bytes (may be null if the caller does).
  // `name` is used in error messages.
  static Expected<SafetensorsFile> Parse(const uint8_t* data, size_t size, const std::string& name,
                                         std::shared_ptr<const void> keep_alive = nullptr);

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t header_size() const { return header_size_; }  // N, the JSON length
  uint64_t data_offset() const { return 8 + header_size_; }

  // "__metadata__" entries in file order (the format allows string values only).
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }
  const std::string* FindMetadata(const std::string& key) const;

  // Tensors in header order.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* FindTensor(const std::string& name) const;

  // Converts a tensor of this file to float32 (exact for F32, F16 and BF16); `out` must hold
  // exactly n_elements() floats. Other dtypes give an Error naming the file, tensor and dtype.
  Status ReadFloat32(const SafetensorsTensor& tensor, std::span<float> out) const;
  Expected<std::vector<float>> ReadFloat32(const SafetensorsTensor& tensor) const;
  Expected<std::vector<float>> ReadFloat32(const std::string& name) const;

 private:
  std::string path_;
  uint64_t file_size_ = 0;
  uint64_t header_size_ = 0;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
  std::shared_ptr<const void> keep_alive_;
};

// All shards of a Hugging Face checkpoint, searched as one set of tensors.
class SafetensorsCheckpoint {
 public:
  static constexpr const char* kIndexFileName = "model.safetensors.index.json";

  // `path` is a directory or a single .safetensors file. In a directory, the shards are those
  // named by model.safetensors.index.json's weight_map when it exists (every entry must be in
  // the shard it names), else every *.safetensors file. A tensor name in two shards is an error.
  static Expected<SafetensorsCheckpoint> Open(const std::string& path);

  const std::string& path() const { return path_; }
  // The index file when one was used, else empty.
  const std::string& index_path() const { return index_path_; }
  const std::vector<SafetensorsFile>& shards() const { return shards_; }

  size_t tensor_count() const { return locations_.size(); }
  // Every tensor, shard by shard in header order.
  std::vector<const SafetensorsTensor*> tensors() const;
  const SafetensorsTensor* FindTensor(const std::string& name) const;
  // The shard holding `name`, or null.
  const SafetensorsFile* ShardOf(const std::string& name) const;

  // A tensor as float32; an Error if it is absent or its dtype does not convert.
  Expected<std::vector<float>> ReadFloat32(const std::string& name) const;

 private:
  struct Location {
    size_t shard;
    size_t tensor;
  };
  Status AddShard(SafetensorsFile shard);

  std::string path_;
  std::string index_path_;
  std::vector<SafetensorsFile> shards_;
  std::unordered_map<std::string, Location> locations_;
};

}  // namespace qforge
