#include <gtest/gtest.h>

#include <cstdlib>

#include "qforge/eval/suite.h"
#include "test_paths.h"

namespace qforge {
namespace {

using nlohmann::json;

TEST(GradeNumbers, ExtractFinalNumber) {
  EXPECT_EQ(ExtractFinalNumber("The answer is 1,234."), "1,234");  // kept as written
  EXPECT_EQ(ExtractFinalNumber("It drops to -3.5 degrees"), "-3.5");
  EXPECT_EQ(ExtractFinalNumber("She makes $18."), "18");  // the period ends the sentence
  EXPECT_EQ(ExtractFinalNumber("no number here"), "");
  EXPECT_EQ(ExtractFinalNumber(""), "");
  EXPECT_EQ(ExtractFinalNumber("pages 3-5"), "5");  // a hyphen between numbers is no sign
  EXPECT_EQ(ExtractFinalNumber("x = -7"), "-7");
  EXPECT_EQ(ExtractFinalNumber("12.5% of 80 is 10"), "10");
  EXPECT_EQ(ExtractFinalNumber("1,2345"), "2345");  // not a thousands group
  EXPECT_EQ(ExtractFinalNumber("1,234,567 and"), "1,234,567");
  EXPECT_EQ(ExtractFinalNumber("list 1,2,3"), "3");
  EXPECT_EQ(ExtractFinalNumber("0.75"), "0.75");
}

TEST(GradeNumbers, AnswerCuePrecedesTheLastNumber) {
  EXPECT_EQ(ExtractAnswerNumber("The answer is 18.\n\nQuestion: 5 more apples cost 3"), "18");
  EXPECT_EQ(ExtractAnswerNumber("So 3 + 4 = 7"), "7");
  EXPECT_EQ(ExtractAnswerNumber("First 2, then... the Answer is: $1,000."), "1,000");
  EXPECT_EQ(ExtractAnswerNumber("The answer is unknown, maybe 4"), "4");  // no number after the cue
  EXPECT_EQ(ExtractAnswerNumber("the answer is 5. Wait, the answer is 6."), "6");  // the last cue
}

AnswerCheck Number(const std::string& expected) {
  AnswerCheck c;
  c.kind = AnswerCheck::Kind::kFinalNumber;
  c.expected = expected;
  return c;
}

TEST(GradeFinalNumber, ComparesNumerically) {
  EXPECT_TRUE(GradeAnswer(Number("18"), "9 * 2 = 18\nThe answer is 18.").pass);
  EXPECT_TRUE(GradeAnswer(Number("18"), "The answer is 18.0").pass);
  EXPECT_TRUE(GradeAnswer(Number("18"), "The answer is $18.00.").pass);
  EXPECT_TRUE(GradeAnswer(Number("1234"), "The answer is 1,234.").pass);
  EXPECT_TRUE(GradeAnswer(Number("-3"), "The answer is -3.").pass);
  EXPECT_TRUE(GradeAnswer(Number("0.5"), "The answer is 0.50").pass);
  const GradeResult wrong = GradeAnswer(Number("18"), "The answer is 17.");
  EXPECT_FALSE(wrong.pass);
  EXPECT_TRUE(wrong.graded);
  EXPECT_EQ(wrong.detail, "got 17, expected 18");
  const GradeResult none = GradeAnswer(Number("18"), "I do not know.");
  EXPECT_FALSE(none.pass);
  EXPECT_EQ(none.detail, "no number");
  EXPECT_FALSE(GradeAnswer(Number("18"), "The answer is 180.").pass);
  EXPECT_FALSE(GradeAnswer(Number("3"), "The answer is -3.").pass);
}

TEST(GradeContains, CaseInsensitiveSubstring) {
  AnswerCheck c;
  c.kind = AnswerCheck::Kind::kContains;
  c.expected = "Lisbon";
  EXPECT_TRUE(GradeAnswer(c, " Lisbon.").pass);
  EXPECT_TRUE(GradeAnswer(c, " lisbon").pass);
  const GradeResult miss = GradeAnswer(c, " Oslo.");
  EXPECT_FALSE(miss.pass);
  EXPECT_EQ(miss.detail, "'Lisbon' not found");
}

TEST(GradeNone, IsNotGraded) {
  const GradeResult r = GradeAnswer(AnswerCheck{}, "anything");
  EXPECT_FALSE(r.pass);
  EXPECT_FALSE(r.graded);
}

// A BFCL-style function: base and height required integers, optional unit string, optional
// float gravity, an array and a dict parameter.
AnswerCheck Call() {
  AnswerCheck c;
  c.kind = AnswerCheck::Kind::kJsonCall;
  c.call = json::parse(R"({
    "function": {"name": "calc.area", "description": "d", "parameters": {"type": "dict",
      "properties": {
        "base": {"type": "integer"}, "height": {"type": "integer"},
        "unit": {"type": "string"}, "gravity": {"type": "float"},
        "interval": {"type": "array", "items": {"type": "float"}},
        "where": {"type": "dict", "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}}},
        "mode": {"type": "string"}},
      "required": ["base", "height"]}},
    "accepted": {"base": [10], "height": [5], "unit": ["units", ""], "gravity": [9.8, ""],
                 "interval": [[1.0, 3.0], ""], "where": [{"city": ["New York", "NYC"], "zip": ["", 10001]}, ""],
                 "mode": ["fast"]}})");
  return c;
}

GradeResult GradeCall(const std::string& text) {
  return GradeAnswer(Call(), text);
}

TEST(GradeJsonCall, CorrectCallsPass) {
  EXPECT_TRUE(
      GradeCall(R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast"}})")
          .pass)
      << GradeCall(
             R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast"}})")
             .detail;
  // Fenced, with prose around it; optional arguments given with accepted values.
  EXPECT_TRUE(
      GradeCall(
          "Sure!\n```json\n{\"name\": \"calc.area\", \"arguments\": {\"base\": 10, "
          "\"height\": 5, \"unit\": \"units\", \"gravity\": 9.8, \"mode\": \"fast\"}}\n```\nDone.")
          .pass);
  // Strings compare case-insensitively, ignoring spaces and , . / - _ * ^ (BFCL's rule).
  EXPECT_TRUE(
      GradeCall(
          R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "unit": "Units", "mode": "FAST"}})")
          .pass);
  // A float parameter accepts an integer of the same value; arrays compare elementwise.
  EXPECT_TRUE(
      GradeCall(
          R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast", "interval": [1, 3]}})")
          .pass);
  // A dict value: each key against its own accepted list; a key with "" may be left out.
  EXPECT_TRUE(
      GradeCall(
          R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast", "where": {"city": "nyc"}}})")
          .pass);
  // Arguments given as a JSON string (OpenAI style).
  EXPECT_TRUE(
      GradeCall(
          R"({"name": "calc.area", "arguments": "{\"base\": 10, \"height\": 5, \"mode\": \"fast\"}"})")
          .pass);
}

TEST(GradeJsonCall, EachMistakeFailsWithItsReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"I would call calc.area.", "no JSON object"},
      {R"({"name": "calc.volume", "arguments": {"base": 10, "height": 5, "mode": "fast"}})",
       "wrong function 'calc.volume' (expected 'calc.area')"},
      {R"({"name": "calc.area", "arguments": {"base": 10, "mode": "fast"}})",
       "missing required argument 'height'"},
      {R"({"name": "calc.area", "arguments": {"base": "10", "height": 5, "mode": "fast"}})",
       "argument 'base' should be integer, got \"10\""},
      {R"({"name": "calc.area", "arguments": {"base": 10.5, "height": 5, "mode": "fast"}})",
       "argument 'base' should be integer, got 10.5"},
      {R"({"name": "calc.area", "arguments": {"base": 12, "height": 5, "mode": "fast"}})",
       "argument 'base' = 12 is not accepted (accepted: [10])"},
      {R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast", "color": "red"}})",
       "unknown argument 'color'"},
      {R"({"name": "calc.area", "arguments": {"base": 10, "height": 5}})",
       "missing argument 'mode'"},
      {R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast", "interval": [3, 1]}})",
       "argument 'interval' = [3,1] is not accepted"},
      {R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast", "interval": [1, "3"]}})",
       "argument 'interval' should be array of float"},
      {R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast", "where": {"city": "Boston"}}})",
       "argument 'where' = {\"city\":\"Boston\"} is not accepted"},
      {R"({"name": "calc.area"})", "no \"arguments\" object"},
      {R"({"arguments": {}})", "no \"name\" in the call"},
  };
  for (const auto& [text, reason] : cases) {
    const GradeResult r = GradeCall(text);
    EXPECT_FALSE(r.pass) << text;
    EXPECT_TRUE(r.graded);
    EXPECT_EQ(r.detail.rfind(reason, 0), 0u) << text << "\n  detail: " << r.detail;
  }
  // An argument in the schema but absent from the accepted call is unexpected.
  AnswerCheck c = Call();
  c.call["accepted"].erase("unit");
  const GradeResult r = GradeAnswer(
      c,
      R"({"name": "calc.area", "arguments": {"base": 10, "height": 5, "mode": "fast", "unit": "cm"}})");
  EXPECT_FALSE(r.pass);
  EXPECT_EQ(r.detail, "unexpected argument 'unit'");
}

TEST(GradeJsonCall, FirstParseableObjectIsUsed) {
  // Braces inside strings do not confuse the scan; a broken object before the call is skipped.
  EXPECT_TRUE(
      GradeCall(
          "{not json} then {\"name\": \"calc.area\", \"arguments\": {\"base\": 10, \"height\": 5, "
          "\"mode\": \"fast\", \"unit\": \"units\"}} and {\"name\": \"x\"}")
          .pass);
  // A fence without an object does not hide a call written outside it.
  EXPECT_TRUE(
      GradeCall("```\nthinking\n```\n{\"name\": \"calc.area\", \"arguments\": {\"base\": 10, "
                "\"height\": 5, \"mode\": \"fast\"}}")
          .pass);
  EXPECT_FALSE(GradeCall("{\"name\": \"x\"} {\"name\": \"calc.area\", \"arguments\": {\"base\": "
                         "10, \"height\": 5, \"mode\": \"fast\"}}")
                   .pass);
}

bool HavePython() {
  return std::system("python3 -c pass >/dev/null 2>&1") == 0;
}

AnswerCheck Python(const std::string& prefix, const std::string& tests) {
  AnswerCheck c;
  c.kind = AnswerCheck::Kind::kPythonTests;
  c.code_prefix = prefix;
  c.tests = tests;
  return c;
}

TEST(GradePython, CanonicalHumanEvalSolutionsPassAndWrongOnesFail) {
  if (!HavePython()) GTEST_SKIP() << "python3 not available";
  auto suite = LoadSuite(testing::RepoDir() + "/suites/code-humaneval.jsonl");
  ASSERT_TRUE(suite.ok()) << suite.error().message;
  for (const auto& item : suite->items) {
    const GradeResult r = GradeAnswer(item.check, item.reference);
    EXPECT_TRUE(r.pass) << item.id << ": " << r.detail;
  }
  const SuiteItem& first = suite->items.at(0);
  const GradeResult wrong = GradeAnswer(first.check, "    return False\n");
  EXPECT_FALSE(wrong.pass);
  EXPECT_TRUE(wrong.graded);
  EXPECT_EQ(wrong.detail, "tests failed: AssertionError");
  const GradeResult syntax = GradeAnswer(first.check, "    return (\n");
  EXPECT_FALSE(syntax.pass);
  EXPECT_NE(syntax.detail.find("SyntaxError"), std::string::npos) << syntax.detail;
  // A fenced full function (what chat models tend to write) replaces the prompt's stub.
  const std::string fenced =
      "```python\nfrom typing import List\n\ndef has_close_elements(numbers: List[float], "
      "threshold: float) -> bool:\n" +
      first.reference + "```\n";
  EXPECT_TRUE(GradeAnswer(first.check, fenced).pass) << GradeAnswer(first.check, fenced).detail;
}

TEST(GradePython, MbppReferencesPassAndFencesAreStripped) {
  if (!HavePython()) GTEST_SKIP() << "python3 not available";
  auto suite = LoadSuite(testing::RepoDir() + "/suites/code-mbpp.jsonl");
  ASSERT_TRUE(suite.ok()) << suite.error().message;
  for (const auto& item : suite->items) {
    const GradeResult r =
        GradeAnswer(item.check, "Here is the function:\n" + item.reference + "\nIt works.");
    EXPECT_TRUE(r.pass) << item.id << ": " << r.detail;
  }
  // Without a fence the text is taken as code; an unclosed fence runs to the end.
  EXPECT_TRUE(GradeAnswer(Python("", "assert f(2) == 4\n"), "def f(x):\n    return 2 * x\n").pass);
  EXPECT_TRUE(
      GradeAnswer(Python("", "assert f(2) == 4\n"), "```py\ndef f(x):\n    return 2 * x\n").pass);
  EXPECT_FALSE(
      GradeAnswer(Python("", "assert f(2) == 4\n"), "```python\ndef f(x):\n    return x\n```")
          .pass);
}

}  // namespace
}  // namespace qforge
