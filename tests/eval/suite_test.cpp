#include "qforge/eval/suite.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "qforge/core/sha256.h"
#include "qforge/io/mapped_file.h"
#include "test_paths.h"

namespace qforge {
namespace {

std::string SuitesDir() {
  return testing::RepoDir() + "/suites";
}
std::string TasksDir() {
  return testing::SharedDir() + "/data/tasks";
}

Suite MustLoad(const std::string& path, SuiteLoadOptions options = {}) {
  auto suite = LoadSuite(path, options);
  EXPECT_TRUE(suite.ok()) << (suite.ok() ? "" : suite.error().message);
  return suite.ok() ? *suite : Suite{};
}

// Writes `text` to a fresh file under the test temp directory and returns its path.
std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string dir = testing::TempDir() + "/suites";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string LoadError(const std::string& path) {
  auto suite = LoadSuite(path);
  return suite.ok() ? "(loaded without error)" : suite.error().message;
}

const char kHeader[] = R"({"qforge_suite": 1, "name": "t", "capability": "test", "version": "1"})"
                       "\n";

// ---- the shipped suites ----

TEST(SuiteShipped, EveryShippedSuiteLoadsWithItsDefaultCount) {
  const std::map<std::string, size_t> expected = {
      {"chat-instructions", 22}, {"code-humaneval", 20},      {"code-mbpp", 20}, {"math-gsm8k", 40},
      {"mc-mmlu", 40},           {"recall-long-context", 15}, {"tools-bfcl", 40}};
  auto files = ResolveSuites(SuitesDir(), SuitesDir());
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), expected.size());
  EXPECT_TRUE(std::is_sorted(files->begin(), files->end()));
  for (const auto& file : *files) {
    const Suite suite = MustLoad(file);
    ASSERT_TRUE(expected.count(suite.name)) << "unexpected suite " << suite.name;
    EXPECT_EQ(std::filesystem::path(file).stem().string(), suite.name);
    EXPECT_EQ(suite.items.size(), expected.at(suite.name)) << suite.name;
    EXPECT_FALSE(suite.capability.empty());
    EXPECT_EQ(suite.source_sha256.size(), 64u);
    EXPECT_EQ(suite.file_sha256, Sha256Hex(*ReadTextFile(file)));
    std::set<std::string> ids;
    for (const auto& item : suite.items) {
      EXPECT_TRUE(ids.insert(item.id).second) << suite.name << ": duplicate id " << item.id;
    }
  }
}

TEST(SuiteShipped, SourceHashesAreOfTheDataFiles) {
  const Suite gsm8k = MustLoad(SuitesDir() + "/math-gsm8k.jsonl");
  EXPECT_EQ(gsm8k.source_sha256, Sha256Hex(*ReadTextFile(TasksDir() + "/gsm8k.jsonl")));
  // HumanEval: the compressed file as stored, so `sha256sum humaneval.jsonl.gz` matches.
  const Suite humaneval = MustLoad(SuitesDir() + "/code-humaneval.jsonl");
  EXPECT_EQ(humaneval.source_sha256, Sha256Hex(*ReadTextFile(TasksDir() + "/humaneval.jsonl.gz")));
  // BFCL: questions then answers, as `cat questions answers | sha256sum`.
  const Suite bfcl = MustLoad(SuitesDir() + "/tools-bfcl.jsonl");
  EXPECT_EQ(bfcl.source_sha256,
            Sha256Hex(*ReadTextFile(TasksDir() + "/bfcl-simple-python.jsonl") +
                      *ReadTextFile(TasksDir() + "/bfcl-simple-python-answers.jsonl")));
  const Suite chat = MustLoad(SuitesDir() + "/chat-instructions.jsonl");
  EXPECT_EQ(chat.source_sha256, chat.file_sha256);  // inline items: the suite file is the data
}

// Every GSM8K item's expected answer is the number after "####" in the dataset (all 1,000).
TEST(SuiteGsm8k, ExpectedNumberMatchesTheDataset) {
  SuiteLoadOptions all;
  all.max_items = 100000;
  const Suite suite = MustLoad(SuitesDir() + "/math-gsm8k.jsonl", all);
  auto text = ReadTextFile(TasksDir() + "/gsm8k.jsonl");
  ASSERT_TRUE(text.ok());
  std::vector<std::string> numbers;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const std::string answer = nlohmann::json::parse(line)["answer"];
    std::string n = answer.substr(answer.rfind("#### ") + 5);
    n.erase(std::remove(n.begin(), n.end(), ','), n.end());
    numbers.push_back(n);
  }
  ASSERT_EQ(numbers.size(), 1000u);
  ASSERT_EQ(suite.items.size(), numbers.size());
  for (size_t i = 0; i < numbers.size(); ++i) {
    const SuiteItem& item = suite.items[i];
    EXPECT_EQ(item.check.kind, AnswerCheck::Kind::kFinalNumber);
    EXPECT_EQ(item.check.expected, numbers[i]) << item.id;
    const std::string tail = "\nThe answer is " + numbers[i] + ".";
    EXPECT_TRUE(item.reference.ends_with(tail)) << item.id << ": " << item.reference;
    EXPECT_EQ(item.reference.find("<<"), std::string::npos) << item.id;
    EXPECT_EQ(item.reference.find("####"), std::string::npos) << item.id;
    // The reference, graded as if generated, passes.
    EXPECT_TRUE(GradeAnswer(item.check, item.reference).pass) << item.id;
  }
}

TEST(SuiteGsm8k, FirstItemIsRewrittenAsDocumented) {
  const Suite suite = MustLoad(SuitesDir() + "/math-gsm8k.jsonl");
  const SuiteItem& item = suite.items.at(0);
  EXPECT_EQ(item.id, "gsm8k-0");
  EXPECT_TRUE(item.chat);
  EXPECT_EQ(item.max_tokens, 192);
  EXPECT_TRUE(item.prompt.starts_with("Janet\u2019s ducks lay 16 eggs per day."));
  EXPECT_NE(item.prompt.find("\"The answer is N.\""), std::string::npos);
  EXPECT_EQ(item.reference,
            "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\n"
            "She makes 9 * 2 = $18 every day at the farmer\u2019s market.\n"
            "The answer is 18.");
  EXPECT_EQ(item.check.expected, "18");
}

TEST(SuiteHumanEval, ItemsComeFromTheCompressedFile) {
  const Suite suite = MustLoad(SuitesDir() + "/code-humaneval.jsonl");
  const SuiteItem& item = suite.items.at(0);
  EXPECT_EQ(item.id, "HumanEval/0");
  EXPECT_FALSE(item.chat);
  EXPECT_TRUE(item.prompt.starts_with("from typing import List"));
  EXPECT_EQ(item.check.code_prefix, item.prompt);
  EXPECT_TRUE(item.check.tests.ends_with("\ncheck(has_close_elements)\n"));
  EXPECT_EQ(item.max_tokens, 256);
  EXPECT_EQ(item.stop,
            (std::vector<std::string>{"\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"}));
  EXPECT_EQ(suite.items.at(19).id, "HumanEval/19");
}

TEST(SuiteMbpp, StartsAtTheTestSplitAndShowsTheFirstAssert) {
  const Suite suite = MustLoad(SuitesDir() + "/code-mbpp.jsonl");
  const SuiteItem& item = suite.items.at(0);
  EXPECT_EQ(item.id, "mbpp-11");
  EXPECT_TRUE(item.chat);
  EXPECT_NE(item.prompt.find("assert remove_Occ(\"hello\",\"l\") == \"heo\""), std::string::npos);
  EXPECT_TRUE(item.reference.starts_with("```python\n"));
  EXPECT_TRUE(item.reference.ends_with("\n```"));
  for (const auto& it : suite.items) {
    EXPECT_EQ(it.reference.find('\r'), std::string::npos) << it.id;
    EXPECT_EQ(it.check.kind, AnswerCheck::Kind::kPythonTests);
    EXPECT_NE(it.check.tests.find("assert "), std::string::npos);
  }
}

TEST(SuiteBfcl, ReferenceIsTheCanonicalCall) {
  const Suite suite = MustLoad(SuitesDir() + "/tools-bfcl.jsonl");
  EXPECT_EQ(suite.items.at(0).id, "simple_python_0");
  EXPECT_EQ(suite.items.at(0).prompt,
            "Find the area of a triangle with a base of 10 units and height of 5 units.");
  EXPECT_NE(suite.items.at(0).system.find("\"calculate_triangle_area\""), std::string::npos);
  EXPECT_EQ(
      suite.items.at(0).reference,
      R"({"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5, "unit": "units"}})");
  // simple_python_2 accepts z in ["", 0]: the canonical call leaves it out.
  EXPECT_EQ(suite.items.at(2).reference,
            R"({"name": "math.hypot", "arguments": {"x": 4, "y": 5}})");
}

// The reference call of every one of the 300 BFCL items passes the grader: the reference
// builder and the json_call rules agree on the whole dataset.
TEST(SuiteBfcl, EveryReferencePassesTheGrader) {
  SuiteLoadOptions all;
  all.max_items = 100000;
  const Suite suite = MustLoad(SuitesDir() + "/tools-bfcl.jsonl", all);
  ASSERT_EQ(suite.items.size(), 300u);
  for (const auto& item : suite.items) {
    const GradeResult g = GradeAnswer(item.check, item.reference);
    EXPECT_TRUE(g.pass) << item.id << ": " << g.detail << "\n" << item.reference;
  }
}

TEST(SuiteMmlu, AnswerIndexIsInputLabel) {
  SuiteLoadOptions all;
  all.max_items = 1000;  // past the shipped limit of 40: every question in the file
  auto loaded = LoadSuite(SuitesDir() + "/mc-mmlu.jsonl", all);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const Suite& suite = *loaded;
  ASSERT_EQ(suite.items.size(), 83u);
  // The first question ends "...develops from the (C) third pharyngeal arch": label 2.
  EXPECT_EQ(suite.items[0].id, "mmlu-23");
  EXPECT_EQ(suite.items[0].answer_index, 2);
  std::map<int, int> counts;
  for (const auto& item : suite.items) {
    EXPECT_EQ(item.options, (std::vector<std::string>{" A", " B", " C", " D"}));
    EXPECT_EQ(item.max_tokens, 0);
    EXPECT_TRUE(item.prompt.ends_with("\n\nAnswer:"));
    ++counts[item.answer_index];
  }
  // Distribution of input_label in the file (the "scores" field would give another one).
  EXPECT_EQ(counts, (std::map<int, int>{{0, 18}, {1, 17}, {2, 30}, {3, 18}}));
}

TEST(SuiteLimits, MaxItemsReplacesTheSuiteLimit) {
  SuiteLoadOptions five, hundred;
  five.max_items = 5;
  hundred.max_items = 100;
  EXPECT_EQ(MustLoad(SuitesDir() + "/math-gsm8k.jsonl", five).items.size(), 5u);
  EXPECT_EQ(MustLoad(SuitesDir() + "/math-gsm8k.jsonl", hundred).items.size(), 100u);
  EXPECT_EQ(MustLoad(SuitesDir() + "/chat-instructions.jsonl", five).items.size(), 5u);
  // More than the dataset holds: all of it.
  EXPECT_EQ(MustLoad(SuitesDir() + "/code-humaneval.jsonl", hundred).items.size(), 100u);
  SuiteLoadOptions many;
  many.max_items = 1000;
  EXPECT_EQ(MustLoad(SuitesDir() + "/code-humaneval.jsonl", many).items.size(), 164u);
}

// ---- ResolveSuites ----

TEST(SuiteResolve, NamesDirectoriesAndPaths) {
  auto two = ResolveSuites("math-gsm8k, code-mbpp", SuitesDir());
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(*two, (std::vector<std::string>{SuitesDir() + "/math-gsm8k.jsonl",
                                            SuitesDir() + "/code-mbpp.jsonl"}));
  auto path = ResolveSuites(SuitesDir() + "/mc-mmlu.jsonl", "/nonexistent");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->size(), 1u);
  auto all = ResolveSuites("", SuitesDir());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 7u);
  auto unknown = ResolveSuites("math-gsm8k,maths", SuitesDir());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown suite 'maths'"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("math-gsm8k"), std::string::npos);  // lists what exists
}

// ---- the file format: errors carry file:line ----

TEST(SuiteFormat, InlineItemsRoundTrip) {
  const std::string path = WriteTemp(
      "inline.jsonl",
      std::string(kHeader) +
          R"({"id": "a", "prompt": "2+2=", "reference": " 4", "max_tokens": 4, "stop": ["\n"], "check": {"kind": "final_number", "expected": 4}})"
          "\n\n"  // blank lines are allowed
          R"({"id": "b", "prompt": "Pick", "options": [" x", " y"], "answer_index": 1})"
          "\n"
          R"({"id": "c", "prompt": "Hi", "chat": true, "system": "Be brief.", "max_tokens": 8, "check": {"kind": "contains", "expected": "hello"}})"
          "\n");
  const Suite s = MustLoad(path);
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(s.items[0].check.kind, AnswerCheck::Kind::kFinalNumber);
  EXPECT_EQ(s.items[0].check.expected, "4");
  EXPECT_EQ(s.items[0].stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(s.items[1].answer_index, 1);
  EXPECT_EQ(s.items[2].system, "Be brief.");
  EXPECT_TRUE(s.items[2].chat);
  EXPECT_EQ(s.source_sha256, Sha256Hex(*ReadTextFile(path)));
}

TEST(SuiteFormat, MalformedJsonNamesFileAndLine) {
  const std::string path = WriteTemp(
      "malformed.jsonl", std::string(kHeader) + R"({"id": "a", "prompt": "x", "reference": "y"})"
                                                "\n"
                                                R"({"id": "b", "prompt": "x", "reference": })"
                                                "\n");
  const std::string e = LoadError(path);
  EXPECT_EQ(e.rfind(path + ":3: invalid JSON", 0), 0u) << e;
}

TEST(SuiteFormat, UnknownFieldsAreErrorsWithFileLineAndField) {
  const std::string item_typo = WriteTemp(
      "typo.jsonl", std::string(kHeader) + R"({"id": "a", "promtp": "x", "reference": "y"})"
                                           "\n");
  EXPECT_EQ(LoadError(item_typo).rfind(item_typo + ":2: unknown field 'promtp'", 0), 0u)
      << LoadError(item_typo);

  const std::string header_typo =
      WriteTemp("header-typo.jsonl",
                R"({"qforge_suite": 1, "name": "t", "capability": "c", "version": "1", "limt": 3})"
                "\n"
                R"({"id": "a", "prompt": "x", "reference": "y"})"
                "\n");
  EXPECT_EQ(LoadError(header_typo).rfind(header_typo + ":1: unknown field 'limt'", 0), 0u)
      << LoadError(header_typo);

  const std::string check_typo = WriteTemp(
      "check-typo.jsonl",
      std::string(kHeader) + "\n" +
          R"({"id": "a", "prompt": "x", "max_tokens": 4, "check": {"kind": "contains", "expcted": "y"}})"
          "\n");
  EXPECT_EQ(LoadError(check_typo).rfind(check_typo + ":3: check: unknown field 'expcted'", 0), 0u)
      << LoadError(check_typo);

  const std::string source_typo = WriteTemp(
      "source-typo.jsonl",
      R"({"qforge_suite": 1, "name": "t", "capability": "c", "version": "1", "source": {"adapter": "long_context", "filler": "x", "lenghts": [256], "depths": [0.5], "seed": 1}})"
      "\n");
  EXPECT_NE(LoadError(source_typo).find("unknown field 'lenghts'"), std::string::npos)
      << LoadError(source_typo);
}

TEST(SuiteFormat, InvalidItemsAreRejected) {
  const std::map<std::string, std::string> cases = {
      {R"({"id": "a", "prompt": "x"})", "measures nothing"},
      {R"({"prompt": "x", "reference": "y"})", "no 'id'"},
      {R"({"id": "a", "prompt": "x", "options": [" a"], "answer_index": 1})",
       "'answer_index' must index"},
      {R"({"id": "a", "prompt": "x", "reference": "y", "check": {"kind": "contains", "expected": "y"}})",
       "max_tokens > 0"},
      {R"({"id": "a", "prompt": "x", "max_tokens": 3, "check": {"kind": "regex"}})",
       "check kind 'regex'"},
      {R"({"id": "a", "prompt": "x", "max_tokens": 3, "check": {"kind": "final_number", "expected": "eighteen"}})",
       "to be a number"},
      {R"({"id": "a", "prompt": "x", "max_tokens": "3"})", "'max_tokens' must be an integer"},
      {R"({"id": "a", "prompt": "x", "reference": "y", "system": "s"})", "needs \"chat\": true"},
      {R"(["not", "an", "object"])", "must be a JSON object"},
  };
  int n = 0;
  for (const auto& [line, message] : cases) {
    const std::string path =
        WriteTemp("invalid" + std::to_string(n++) + ".jsonl", std::string(kHeader) + line + "\n");
    const std::string e = LoadError(path);
    EXPECT_EQ(e.rfind(path + ":2", 0), 0u) << e;
    EXPECT_NE(e.find(message), std::string::npos) << line << " -> " << e;
  }
  const std::string dup =
      WriteTemp("dup.jsonl", std::string(kHeader) +
                                 R"({"id": "a", "prompt": "x", "reference": "y"})"
                                 "\n" +
                                 R"({"id": "a", "prompt": "z", "reference": "y"})"
                                 "\n");
  EXPECT_EQ(LoadError(dup).rfind(dup + ":3: duplicate item id 'a'", 0), 0u) << LoadError(dup);
  const std::string no_header =
      WriteTemp("no-header.jsonl", R"({"id": "a", "prompt": "x", "reference": "y"})"
                                   "\n");
  EXPECT_NE(LoadError(no_header).find(":1: the first line must be a header"), std::string::npos);
  const std::string version = WriteTemp(
      "version.jsonl", R"({"qforge_suite": 2, "name": "t", "capability": "c", "version": "1"})"
                       "\n");
  EXPECT_NE(LoadError(version).find("unsupported qforge_suite version 2"), std::string::npos);
  const std::string adapter = WriteTemp(
      "adapter.jsonl",
      R"({"qforge_suite": 1, "name": "t", "capability": "c", "version": "1", "source": {"adapter": "gsm9k"}})"
      "\n");
  EXPECT_NE(LoadError(adapter).find("adapter \"gsm9k\" is not one of gsm8k"), std::string::npos)
      << LoadError(adapter);
  const std::string missing = WriteTemp(
      "missing.jsonl",
      R"({"qforge_suite": 1, "name": "t", "capability": "c", "version": "1", "source": {"adapter": "gsm8k", "path": "no-such.jsonl"}})"
      "\n");
  EXPECT_EQ(LoadError(missing).rfind(missing + ": source 'path': ", 0), 0u) << LoadError(missing);
  EXPECT_NE(LoadError(missing).find(testing::TempDir() + "/suites/no-such.jsonl"),
            std::string::npos);
}

// A source path resolves against the suite file's directory; the adapter strips calculator
// annotations and thousands separators.
TEST(SuiteFormat, RelativeSourcePathsAndGsm8kRewriting) {
  const std::string dir = testing::TempDir() + "/relative";
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/data/mini.jsonl")
      << R"({"question": "Q1?", "answer": "A shop sells 2 * 617 = <<2*617=1234>>1,234 pens.\n#### 1,234"})"
         "\n"
      << R"({"question": "Q2?", "answer": "It is 5 - 8 = <<5-8=-3>>-3.\n#### -3"})"
         "\n"
      << R"({"question": "Q3?", "answer": "no marker"})"
         "\n";
  std::ofstream(dir + "/mini.jsonl")
      << R"({"qforge_suite": 1, "name": "mini", "capability": "math", "version": "1", "limit": 2, "source": {"adapter": "gsm8k", "path": "data/mini.jsonl"}})"
         "\n";
  const Suite s = MustLoad(dir + "/mini.jsonl");
  ASSERT_EQ(s.items.size(), 2u);
  EXPECT_EQ(s.items[0].check.expected, "1234");
  EXPECT_EQ(s.items[0].reference, "A shop sells 2 * 617 = 1,234 pens.\nThe answer is 1234.");
  EXPECT_EQ(s.items[1].check.expected, "-3");
  EXPECT_EQ(s.source_sha256, Sha256Hex(*ReadTextFile(dir + "/data/mini.jsonl")));
  // The third record has no "#### N": reading it is an error naming the data file and line.
  SuiteLoadOptions three;
  three.max_items = 3;
  auto bad = LoadSuite(dir + "/mini.jsonl", three);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind(dir + "/data/mini.jsonl:3: answer has no '#### N'", 0), 0u)
      << bad.error().message;
}

// The example in docs/suites.md is a valid suite, and its references pass their own checks.
TEST(SuiteDocs, ExampleSuiteLoads) {
  auto doc = ReadTextFile(testing::RepoDir() + "/docs/suites.md");
  ASSERT_TRUE(doc.ok()) << doc.error().message;
  const size_t start = doc->find("```jsonl\n");
  ASSERT_NE(start, std::string::npos);
  const size_t body = start + 9;
  const std::string example = doc->substr(body, doc->find("```", body) - body);
  const Suite s = MustLoad(WriteTemp("docs-example.jsonl", example));
  ASSERT_EQ(s.items.size(), 4u);
  for (const auto& item : s.items) {
    if (item.check.kind == AnswerCheck::Kind::kNone) continue;
    const GradeResult g = GradeAnswer(item.check, item.reference);
    EXPECT_TRUE(g.pass) << item.id << ": " << g.detail;
  }
}

// ---- the generated long-context suite ----

std::string LongContextSuite(const std::string& name, int seed) {
  return WriteTemp(
      name,
      R"({"qforge_suite": 1, "name": "lc", "capability": "long-context", "version": "1", "source": {"adapter": "long_context", "filler": ")" +
          testing::SharedDir() +
          R"(/data/text/frankenstein.txt", "lengths": [256, 512, 1024, 2048], "depths": [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0], "seed": )" +
          std::to_string(seed) + "}}\n");
}

TEST(SuiteLongContext, SameSeedSameItemsOtherSeedOtherItems) {
  const Suite a = MustLoad(LongContextSuite("lc-a.jsonl", 7));
  const Suite b = MustLoad(LongContextSuite("lc-b.jsonl", 7));
  const Suite c = MustLoad(LongContextSuite("lc-c.jsonl", 8));
  ASSERT_EQ(a.items.size(), 28u);
  ASSERT_EQ(b.items.size(), a.items.size());
  ASSERT_EQ(c.items.size(), a.items.size());
  int differ = 0;
  for (size_t i = 0; i < a.items.size(); ++i) {
    EXPECT_EQ(a.items[i].id, b.items[i].id);
    EXPECT_EQ(a.items[i].prompt, b.items[i].prompt);
    EXPECT_EQ(a.items[i].reference, b.items[i].reference);
    differ += a.items[i].prompt != c.items[i].prompt;
  }
  EXPECT_EQ(differ, 28);
  EXPECT_EQ(a.source_sha256,
            Sha256Hex(*ReadTextFile(testing::SharedDir() + "/data/text/frankenstein.txt")));
}

// The shipped suite's items are pinned: a change in the generator (or in mt19937_64) shows up.
TEST(SuiteLongContext, ShippedItemsArePinned) {
  const Suite s = MustLoad(SuitesDir() + "/recall-long-context.jsonl");
  ASSERT_EQ(s.items.size(), 15u);
  EXPECT_EQ(s.items[0].id, "len256-depth0-passkey");
  EXPECT_EQ(s.items[1].id, "len256-depth25-namecity");
  EXPECT_EQ(s.items[14].id, "len1024-depth100-passkey");
  std::string all;
  for (const auto& item : s.items)
    all += item.id + "\n" + item.prompt + "\n" + item.reference + "\n";
  EXPECT_EQ(Sha256Hex(all), "c87b0535b53cd05439f94026a9fece14acdd9f96aee1b9322204a2845cfad6e0");
}

// The fact sits at the requested relative depth (within 5%) of a window of about
// 4 characters per requested token, and the question follows it.
TEST(SuiteLongContext, FactIsAtTheRequestedDepth) {
  const Suite s = MustLoad(LongContextSuite("lc-depth.jsonl", 3));
  const std::string intro = "Read the text below and remember the fact hidden in it.\n\n";
  for (const auto& item : s.items) {
    int length = 0, depth_pct = 0;
    char kind[16] = {};
    ASSERT_EQ(std::sscanf(item.id.c_str(), "len%d-depth%d-%15s", &length, &depth_pct, kind), 3)
        << item.id;
    ASSERT_TRUE(item.prompt.starts_with(intro));
    const size_t question = item.prompt.rfind("\n\n");
    const std::string haystack = item.prompt.substr(intro.size(), question - intro.size());
    const std::string fact_start =
        std::string(kind) == "passkey" ? "The pass key is " : "Remember this: ";
    const size_t at = haystack.find(fact_start);
    ASSERT_NE(at, std::string::npos) << item.id;
    EXPECT_EQ(haystack.find(fact_start, at + 1), std::string::npos)
        << item.id << ": fact occurs twice";
    const size_t fact_end =
        haystack.find(
            '.', haystack.find(fact_start == "Remember this: " ? " lives in " : " is the pass key",
                               at)) +
        1;
    const double filler_chars = static_cast<double>(haystack.size() - (fact_end - at));
    EXPECT_NEAR(at / filler_chars, depth_pct / 100.0, 0.05) << item.id;
    EXPECT_NEAR(filler_chars, 4.0 * length, 0.02 * 4 * length) << item.id;
    // The answer is in the fact, and the reference passes the item's own check.
    const std::string answer = item.check.expected;
    EXPECT_NE(haystack.substr(at, fact_end - at).find(answer), std::string::npos) << item.id;
    EXPECT_EQ(item.reference, " " + answer + ".");
    EXPECT_TRUE(GradeAnswer(item.check, item.reference).pass) << item.id;
    EXPECT_FALSE(item.chat);
    EXPECT_EQ(item.max_tokens, 12);
  }
}

}  // namespace
}  // namespace qforge
