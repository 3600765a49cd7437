// One anonymous memory region for the weights the forward pass streams, backed by 2 MiB pages
// where the kernel grants them (transparent huge pages, madvise mode). Generation reads every
// weight once per token; with 4 KiB pages that is a TLB miss every 4 KiB, and 2 MiB pages
// measured 9-20% faster (docs/decisions.md).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qforge {

class HugePageArena {
 public:
  HugePageArena() = default;
  // Reserves `capacity` bytes (no memory is touched yet); ok() tells whether that worked.
  explicit HugePageArena(size_t capacity);
  ~HugePageArena();
  HugePageArena(HugePageArena&& other) noexcept;
  HugePageArena& operator=(HugePageArena&& other) noexcept;
  HugePageArena(const HugePageArena&) = delete;
  HugePageArena& operator=(const HugePageArena&) = delete;

  bool ok() const { return base_ != nullptr || capacity_ == 0; }
  // The next `bytes` bytes, 64-byte aligned; null when the capacity is exhausted.
  uint8_t* Allocate(size_t bytes);
  // Capacity that Allocate(bytes) uses, for sizing the arena up front.
  static size_t Footprint(size_t bytes) { return (bytes + 63) / 64 * 64; }
  // Whether the kernel accepted the huge-page advice for the region.
  bool huge_pages_advised() const { return advised_; }

 private:
  void Release();

  uint8_t* base_ = nullptr;    // 2 MiB aligned
  size_t capacity_ = 0;
  size_t used_ = 0;
  void* mapping_ = nullptr;    // what mmap returned, for munmap
  size_t mapping_size_ = 0;
  bool advised_ = false;
};

}  // namespace qforge
