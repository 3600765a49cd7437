// The bit pattern of a float, for tests that require results equal bit for bit (EXPECT_EQ on
// floats would also accept +0 against -0, and never NaN against NaN).
#pragma once

#include <cstdint>
#include <cstring>

namespace qforge {

inline uint32_t FloatBits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

}  // namespace qforge
