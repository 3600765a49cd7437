// SHA-256 (FIPS 180-4), for recording exactly which data a result came from.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "qforge/core/status.h"

namespace qforge {

// Incremental hasher: Update() any number of times, then Finish() once.
class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view text) { Update(text.data(), text.size()); }
  std::array<uint8_t, 32> Finish();
  std::string FinishHex();  // 64 lowercase hex digits

 private:
  void Block(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// The hex digest of a byte string.
std::string Sha256Hex(std::string_view data);
// Hashes a file in streaming reads (model files are hundreds of MB); errors name the file.
Expected<std::string> Sha256File(const std::string& path);

}  // namespace qforge
