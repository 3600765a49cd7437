// An allocator for vectors whose data must start on a cache line: a vector load that straddles
// two lines costs two loads.
#pragma once

#include <cstddef>
#include <new>

namespace qforge {

template <typename T, size_t kAlign = 64>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, kAlign>&) {}  // NOLINT: rebinding is implicit
  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, kAlign>;
  };
  T* allocate(size_t n) { return static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{kAlign})); }
  void deallocate(T* p, size_t) { ::operator delete[](p, std::align_val_t{kAlign}); }
  bool operator==(const AlignedAllocator&) const { return true; }
};

}  // namespace qforge
