// A read-only memory map of a whole file. Tensors point into it: loading a model copies nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "qforge/core/status.h"

namespace qforge {

class MappedFile {
 public:
  static Expected<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

// Tells the kernel the whole pages strictly inside [begin, end) of a read-only file mapping are
// not needed now: they leave memory and are read back from the file if touched again. Partial
// pages at either end are kept, since neighbouring data may still be in use.
void DropMappedPages(const void* begin, const void* end);

// Reads a whole (small) file into a string, e.g. a JSON config or a text.
Expected<std::string> ReadTextFile(const std::string& path);

}  // namespace qforge
