#include "qforge/io/gzip.h"

#include <gtest/gtest.h>

#include <fstream>

#include "qforge/io/mapped_file.h"
#include "test_paths.h"

namespace qforge {
namespace {

std::string HumanEvalPath() {
  return testing::SharedDir() + "/data/tasks/humaneval.jsonl.gz";
}

TEST(Gzip, ReadsHumanEval) {
  auto text = ReadFileMaybeGzip(HumanEvalPath());
  ASSERT_TRUE(text.ok()) << text.error().message;
  size_t lines = 0;
  for (char c : *text) lines += c == '\n';
  EXPECT_EQ(lines, 164u);  // one problem per line
  EXPECT_EQ(text->rfind("{\"task_id\": \"HumanEval/0\"", 0), 0u);
}

TEST(Gzip, PlainFilesPassThrough) {
  const std::string path = testing::SharedDir() + "/data/tasks/gsm8k.jsonl";
  auto plain = ReadTextFile(path);
  auto maybe = ReadFileMaybeGzip(path);
  ASSERT_TRUE(plain.ok() && maybe.ok());
  EXPECT_EQ(*plain, *maybe);
}

TEST(Gzip, TruncatedAndCorruptDataAreErrors) {
  auto raw = ReadTextFile(HumanEvalPath());
  ASSERT_TRUE(raw.ok());
  auto cut = GunzipBytes(std::string_view(*raw).substr(0, raw->size() / 2), "cut.gz");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("cut.gz: gzip"), std::string::npos) << cut.error().message;
  std::string flipped = *raw;
  flipped[flipped.size() / 2] ^= 0x55;
  EXPECT_FALSE(GunzipBytes(flipped, "flipped.gz").ok());
  EXPECT_FALSE(GunzipBytes("\x1f\x8b", "header-only.gz").ok());
}

}  // namespace
}  // namespace qforge
