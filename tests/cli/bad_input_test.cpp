// Every kind of bad input gets one clear line on stderr naming the file and the problem, exit
// code 2, no crash, and no half-written output.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "qforge/io/gguf_reader.h"
#include "qforge/io/gguf_writer.h"
#include "test_paths.h"

namespace qforge {
namespace {

using testing::RunCli;
using testing::SharedDir;
using testing::TempDir;

std::string TinyModel() { return SharedDir() + "/testdata/llamacpp/tiny-llama-f32.gguf"; }

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void WriteAll(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Exit code 2 and exactly one line on stderr containing every expected fragment.
void ExpectOneLineError(const testing::CommandResult& r, std::initializer_list<std::string> fragments) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "missing '" << f << "' in: " << r.err;
}

// A copy of the tiny model with one metadata value replaced.
std::string TinyModelWith(const std::string& name, const std::string& key, GgufValue value) {
  auto file = GgufFile::Open(TinyModel());
  EXPECT_TRUE(file.ok());
  std::vector<std::pair<std::string, GgufValue>> metadata = file->metadata();
  for (auto& [k, v] : metadata) {
    if (k == key) v = value;
  }
  std::vector<GgufTensorData> tensors;
  for (const auto& t : file->tensors()) {
    tensors.push_back({t.name, t.type, t.shape, std::vector<uint8_t>(t.data, t.data + t.n_bytes)});
  }
  const std::string path = TempDir() + "/" + name;
  EXPECT_TRUE(WriteGgufFile(path, metadata, tensors).ok());
  return path;
}

TEST(BadInput, MissingFile) {
  for (const std::string cmd : {"info", "generate -p hi -m", "perplexity -f /dev/null -m"}) {
    SCOPED_TRACE(cmd);
    ExpectOneLineError(RunCli(cmd + " /nonexistent/model.gguf"), {"/nonexistent/model.gguf", "cannot open"});
  }
}

TEST(BadInput, TruncatedFile) {
  auto bytes = ReadAll(TinyModel());
  bytes.resize(bytes.size() / 2);
  const std::string path = TempDir() + "/truncated.gguf";
  WriteAll(path, bytes);
  ExpectOneLineError(RunCli("info " + path), {path, "past the end", "truncated"});
  ExpectOneLineError(RunCli("generate -p hi -m " + path), {path, "truncated"});
}

TEST(BadInput, WrongMagic) {
  const std::string path = TempDir() + "/text.gguf";
  std::ofstream(path) << "this is not a model\n";
  ExpectOneLineError(RunCli("info " + path), {path, "not a GGUF file"});
}

TEST(BadInput, AbsurdSizes) {
  auto bytes = ReadAll(TinyModel());
  const uint64_t huge = uint64_t{1} << 60;
  std::memcpy(bytes.data() + 8, &huge, 8);  // tensor count
  const std::string path = TempDir() + "/absurd.gguf";
  WriteAll(path, bytes);
  ExpectOneLineError(RunCli("info " + path), {path, "tensor count"});
}

TEST(BadInput, UnsupportedArchitecture) {
  const std::string path = TinyModelWith("mamba.gguf", "general.architecture", std::string("mamba"));
  ExpectOneLineError(RunCli("generate -p hi -m " + path), {path, "unsupported architecture 'mamba'"});
  ExpectOneLineError(RunCli("perplexity -f " + SharedDir() + "/testdata/llamacpp/eval.txt -m " + path),
                     {path, "unsupported architecture"});
  ExpectOneLineError(RunCli("imatrix --self -m " + path + " -o " + TempDir() + "/mamba-imatrix.gguf"),
                     {path, "unsupported architecture 'mamba'"});
  // quantize needs no forward pass: it says why self-calibration is skipped and goes on.
  const auto q = RunCli("quantize " + path + " " + TempDir() + "/mamba-q8_0.gguf --type Q8_0 -t 1");
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.err.find("self-calibration skipped: " + path + ": unsupported architecture 'mamba'"), std::string::npos)
      << q.err;
  EXPECT_NE(q.out.find("estimated"), std::string::npos) << q.out;
}

TEST(BadInput, AbsurdHyperparameters) {
  const std::string path = TinyModelWith("heads.gguf", "llama.attention.head_count", uint32_t{3});
  ExpectOneLineError(RunCli("generate -p hi -m " + path), {path, "3 query heads"});
}

TEST(BadInput, MissingTextFile) {
  ExpectOneLineError(RunCli("perplexity -m " + TinyModel() + " -f /nonexistent/text.txt"),
                     {"/nonexistent/text.txt", "cannot open"});
}

TEST(BadInput, TextTooShortForPerplexity) {
  const std::string path = TempDir() + "/short.txt";
  std::ofstream(path) << "Too short.";
  ExpectOneLineError(RunCli("perplexity -m " + TinyModel() + " -f " + path + " --ctx 128"), {path, "needs at least"});
}

TEST(BadInput, UnknownQuantizationType) {
  ExpectOneLineError(RunCli("quantize " + TinyModel() + " " + TempDir() + "/x.gguf --type Q9_9"),
                     {"unknown --type 'Q9_9'"});
}

TEST(BadInput, QuantizeOfACorruptInputLeavesNoOutput) {
  auto bytes = ReadAll(TinyModel());
  bytes.resize(bytes.size() - 1000);
  const std::string in = TempDir() + "/cut.gguf", out = TempDir() + "/never.gguf";
  WriteAll(in, bytes);
  ExpectOneLineError(RunCli("quantize " + in + " " + out + " --type Q4_0"), {in, "truncated"});
  EXPECT_FALSE(testing::FileExists(out));
  EXPECT_FALSE(testing::FileExists(out + ".tmp"));
}

TEST(BadInput, QuantizeIntoAMissingDirectory) {
  ExpectOneLineError(RunCli("quantize " + TinyModel() + " /nonexistent/dir/out.gguf --type Q8_0"),
                     {"/nonexistent/dir/out.gguf", "cannot create"});
}

TEST(BadInput, ImatrixNeedsATextOrSelf) {
  ExpectOneLineError(RunCli("imatrix -m " + TinyModel() + " -o " + TempDir() + "/i.gguf"), {"-f TEXT", "--self"});
  ExpectOneLineError(RunCli("imatrix -m " + TinyModel() + " -f x.txt --self -o " + TempDir() + "/i.gguf"),
                     {"-f TEXT", "--self"});
}

// Sampling sizes whose KV cache cannot fit are refused before anything is allocated.
TEST(BadInput, SelfCalibrationLargerThanMemory) {
  const std::string out = TempDir() + "/huge-self.gguf";
  ExpectOneLineError(RunCli("imatrix -m " + TinyModel() + " --self --sequences 4096 --sequence-length 1048576 -o " + out),
                     {"sampling needs", "KV cache", "MiB available"});
  EXPECT_FALSE(testing::FileExists(out));
}

TEST(BadInput, BadImatrixFile) {
  ExpectOneLineError(RunCli("quantize " + TinyModel() + " " + TempDir() + "/y.gguf --type Q4_K_S --imatrix " + TinyModel()),
                     {TinyModel(), "not an importance matrix"});
}

TEST(BadInput, UsageErrorsExitWithTwo) {
  EXPECT_EQ(RunCli("generate").exit_code, 2);
  EXPECT_EQ(RunCli("no-such-command").exit_code, 2);
  EXPECT_EQ(RunCli("generate -m x -p y -n -5").exit_code, 2);
}

}  // namespace
}  // namespace qforge
