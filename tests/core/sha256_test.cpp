#include "qforge/core/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace qforge {
namespace {

// Test vectors from FIPS 180-2, appendix B, and the empty message.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Feeding the same bytes in uneven pieces (across the 64-byte block and the 56-byte padding
// boundary) gives the one-shot digest.
TEST(Sha256, IncrementalMatchesOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>((i * 131 + 7) & 0xff);
  for (size_t total : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u}) {
    const std::string part = data.substr(0, total);
    for (size_t step : {1u, 3u, 7u, 31u, 64u, 200u}) {
      Sha256 h;
      for (size_t pos = 0; pos < part.size(); pos += step) h.Update(part.substr(pos, step));
      EXPECT_EQ(h.FinishHex(), Sha256Hex(part)) << "total " << total << " step " << step;
    }
  }
}

}  // namespace
}  // namespace qforge
