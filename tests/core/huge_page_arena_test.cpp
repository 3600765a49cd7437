// The weight arena: aligned, disjoint, writable allocations up to its capacity and no further;
// a move hands the region over.
#include "qforge/core/huge_page_arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>

namespace qforge {
namespace {

TEST(HugePageArena, AllocationsAreAlignedDisjointAndBounded) {
  const size_t sizes[] = {1, 100, 64, 3 << 20, 7};
  size_t total = 0;
  for (size_t s : sizes) total += HugePageArena::Footprint(s);
  HugePageArena arena(total);
  ASSERT_TRUE(arena.ok());
  uint8_t* previous_end = nullptr;
  for (size_t s : sizes) {
    uint8_t* p = arena.Allocate(s);
    ASSERT_NE(p, nullptr) << s;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << s;
    if (previous_end != nullptr) {
      EXPECT_GE(p, previous_end);
    }
    std::memset(p, 0xA5, s);  // writable to the last byte
    previous_end = p + s;
  }
  // The capacity is the request rounded up to whole 2 MiB pages: exactly that much room is left.
  constexpr size_t kHuge = size_t{2} << 20, kMiB = size_t{1} << 20;
  const size_t capacity = (total + kHuge - 1) / kHuge * kHuge;
  size_t extra = 0;
  while (arena.Allocate(kMiB) != nullptr) ++extra;
  EXPECT_EQ(extra, (capacity - total) / kMiB);
  const size_t rest = (capacity - total - extra * kMiB) / 64 * 64;
  if (rest > 0) {
    EXPECT_NE(arena.Allocate(rest), nullptr);
  }
  EXPECT_EQ(arena.Allocate(1), nullptr);
}

TEST(HugePageArena, MoveHandsTheRegionOver) {
  HugePageArena a(4096);
  uint8_t* p = a.Allocate(128);
  ASSERT_NE(p, nullptr);
  p[127] = 7;
  HugePageArena b = std::move(a);
  EXPECT_EQ(p[127], 7);  // still mapped: b owns it now
  EXPECT_EQ(a.Allocate(1), nullptr);
  HugePageArena empty;
  EXPECT_TRUE(empty.ok());
  EXPECT_EQ(empty.Allocate(1), nullptr);
}

}  // namespace
}  // namespace qforge
