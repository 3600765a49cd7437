#include "qforge/core/huge_page_arena.h"

#include <sys/mman.h>

#include <utility>

namespace qforge {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

HugePageArena::HugePageArena(size_t capacity) {
  if (capacity == 0) return;
  capacity_ = (capacity + kHugePage - 1) / kHugePage * kHugePage;
  // One huge page more than needed, so that the region can start on a 2 MiB boundary.
  mapping_size_ = capacity_ + kHugePage;
  void* mapped = ::mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) {
    mapping_size_ = 0;  // capacity_ stays set, so ok() reports the failure
    return;
  }
  mapping_ = mapped;
  const uintptr_t start = (reinterpret_cast<uintptr_t>(mapped) + kHugePage - 1) / kHugePage * kHugePage;
  base_ = reinterpret_cast<uint8_t*>(start);
#ifdef MADV_HUGEPAGE
  advised_ = ::madvise(base_, capacity_, MADV_HUGEPAGE) == 0;
#endif
}

HugePageArena::~HugePageArena() { Release(); }

HugePageArena::HugePageArena(HugePageArena&& other) noexcept { *this = std::move(other); }

HugePageArena& HugePageArena::operator=(HugePageArena&& other) noexcept {
  if (this != &other) {
    Release();
    base_ = std::exchange(other.base_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    used_ = std::exchange(other.used_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    advised_ = std::exchange(other.advised_, false);
  }
  return *this;
}

uint8_t* HugePageArena::Allocate(size_t bytes) {
  const size_t size = Footprint(bytes);
  if (size > capacity_ - used_) return nullptr;
  uint8_t* p = base_ + used_;
  used_ += size;
  return p;
}

void HugePageArena::Release() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
  mapping_ = nullptr;
  base_ = nullptr;
  capacity_ = used_ = mapping_size_ = 0;
}

}  // namespace qforge
