#include "qforge/io/hf_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace qforge {
namespace {

using Json = nlohmann::json;
using testing::TempDir;

// The fields of SmolLM2-135M-Instruct's config.json (a Llama model).
Json SmolLM2Config() {
  return Json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 576,
    "initializer_range": 0.041666666666666664, "intermediate_size": 1536,
    "is_llama_config": true, "max_position_embeddings": 8192, "mlp_bias": false,
    "model_type": "llama", "num_attention_heads": 9, "num_hidden_layers": 30,
    "num_key_value_heads": 3, "pad_token_id": 2, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
    "rope_interleaved": false, "rope_scaling": null, "rope_theta": 100000,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.42.3",
    "use_cache": true, "vocab_size": 49152})");
}

// The fields of Qwen2-0.5B-Instruct's config.json.
Json Qwen2Config() {
  return Json::parse(R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151645, "hidden_act": "silu", "hidden_size": 896,
    "initializer_range": 0.02, "intermediate_size": 4864, "max_position_embeddings": 32768,
    "max_window_layers": 24, "model_type": "qwen2", "num_attention_heads": 14,
    "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
    "torch_dtype": "bfloat16", "transformers_version": "4.40.1", "use_cache": true,
    "use_sliding_window": false, "vocab_size": 151936})");
}

std::string WriteConfig(const std::string& name, const std::string& text) {
  const std::string dir = TempDir() + "/" + name;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << text;
  return dir + "/config.json";
}

TEST(HfConfig, ParsesSmolLM2) {
  const std::string path = WriteConfig("smollm2", SmolLM2Config().dump(2));
  auto config = LoadHfConfig(std::filesystem::path(path).parent_path().string());  // a directory
  ASSERT_TRUE(config.ok()) << config.error().message;
  const HfConfig& c = *config;
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.architectures, std::vector<std::string>{"LlamaForCausalLM"});
  EXPECT_EQ(c.hidden_act, "silu");
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.num_hidden_layers, 30);
  EXPECT_EQ(c.num_attention_heads, 9);
  EXPECT_EQ(c.num_key_value_heads, 3);
  EXPECT_EQ(c.n_gqa(), 3);
  EXPECT_EQ(c.head_dim, 64);  // 576 / 9
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.max_position_embeddings, 8192);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_theta, 100000.0);  // written as an integer
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
}

TEST(HfConfig, ParsesQwen2WithImpliedBiases) {
  const std::string path = WriteConfig("qwen2", Qwen2Config().dump());
  auto config = LoadHfConfig(path);  // the file itself
  ASSERT_TRUE(config.ok()) << config.error().message;
  const HfConfig& c = *config;
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.hidden_size, 896);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.n_gqa(), 7);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_TRUE(c.qkv_bias);                     // Qwen2 always has q/k/v biases...
  EXPECT_FALSE(c.o_bias);                      // ...and none on the output projection
  EXPECT_FALSE(c.sliding_window.has_value());  // use_sliding_window is false
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{151645});

  Json j = Qwen2Config();
  j["use_sliding_window"] = true;
  auto windowed = ParseHfConfig(j.dump(), "w.json");
  ASSERT_TRUE(windowed.ok()) << windowed.error().message;
  EXPECT_EQ(windowed->sliding_window, 32768);
}

TEST(HfConfig, AppliesDefaultsAndLlama3RopeScaling) {
  // A Llama 3.1-style config: eos list, llama3 rope scaling; kv heads, head_dim, eps, theta,
  // tie and max positions omitted or null.
  Json j = Json::parse(R"({
    "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "vocab_size": 128256,
    "num_key_value_heads": null, "head_dim": null,
    "eos_token_id": [128001, 128008, 128009], "bos_token_id": null,
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"}})");
  auto config = ParseHfConfig(j.dump(), "llama3.json");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const HfConfig& c = *config;
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.bos_token_id.has_value());
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_TRUE(c.architectures.empty());
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(c.rope_scaling->type, "llama3");
  EXPECT_EQ(c.rope_scaling->factor, 8.0);
  EXPECT_EQ(c.rope_scaling->low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling->high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling->original_max_position_embeddings, 8192);

  // The older spelling {"type": "linear"}; "default" means no scaling.
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2}};
  config = ParseHfConfig(j.dump(), "linear.json");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_TRUE(config->rope_scaling.has_value());
  EXPECT_EQ(config->rope_scaling->type, "linear");
  EXPECT_EQ(config->rope_scaling->factor, 2.0);
  j["rope_scaling"] = {{"rope_type", "default"}};
  config = ParseHfConfig(j.dump(), "default.json");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_FALSE(config->rope_scaling.has_value());

  // attention_bias on a Llama puts biases on q, k, v and o; an explicit head_dim wins.
  j["attention_bias"] = true;
  j["head_dim"] = 64;
  config = ParseHfConfig(j.dump(), "bias.json");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config->qkv_bias);
  EXPECT_TRUE(config->o_bias);
  EXPECT_EQ(config->head_dim, 64);
}

TEST(HfConfig, Qwen3AndMistralSpecifics) {
  Json j = Qwen2Config();
  j["model_type"] = "qwen3";
  j.erase("sliding_window");
  auto qwen3 = ParseHfConfig(j.dump(), "qwen3.json");
  ASSERT_TRUE(qwen3.ok()) << qwen3.error().message;
  EXPECT_EQ(qwen3->head_dim, 128);  // Qwen3Config's default, not hidden / heads
  EXPECT_TRUE(qwen3->qk_norm);
  EXPECT_FALSE(qwen3->qkv_bias);

  Json m = SmolLM2Config();
  m["model_type"] = "mistral";
  m["sliding_window"] = 4096;
  m.erase("max_position_embeddings");
  auto mistral = ParseHfConfig(m.dump(), "mistral.json");
  ASSERT_TRUE(mistral.ok()) << mistral.error().message;
  EXPECT_EQ(mistral->sliding_window, 4096);
  EXPECT_EQ(mistral->max_position_embeddings, 131072);
  EXPECT_FALSE(mistral->qkv_bias);
}

// Parses `text` (as a file named /models/x/config.json) and expects an error naming the file and
// containing `expected`.
void ExpectError(const std::string& text, const std::string& expected) {
  const std::string name = "/models/x/config.json";
  auto config = ParseHfConfig(text, name);
  ASSERT_FALSE(config.ok()) << "accepted; expected: " << expected;
  EXPECT_EQ(config.error().message.rfind(name + ": ", 0), 0u) << config.error().message;
  EXPECT_NE(config.error().message.find(expected), std::string::npos) << config.error().message;
  EXPECT_EQ(config.error().message.find('\n'), std::string::npos) << config.error().message;
}

Json With(Json j, const std::string& key, Json value) {
  j[key] = std::move(value);
  return j;
}

Json Without(Json j, const std::string& key) {
  j.erase(key);
  return j;
}

TEST(HfConfig, ReadsTransformers5RopeParameters) {
  // transformers 5 moves rope_theta and the scaling into "rope_parameters".
  Json j = Without(Without(SmolLM2Config(), "rope_theta"), "rope_scaling");
  j["rope_parameters"] = {{"rope_theta", 500000.0}, {"rope_type", "default"}};
  auto config = ParseHfConfig(j.dump(), "v5.json");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->rope_theta, 500000.0);
  EXPECT_FALSE(config->rope_scaling.has_value());

  j["rope_parameters"] = {{"rope_theta", 500000.0},  {"rope_type", "llama3"},
                          {"factor", 32.0},          {"low_freq_factor", 1.0},
                          {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  config = ParseHfConfig(j.dump(), "v5.json");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->rope_theta, 500000.0);
  ASSERT_TRUE(config->rope_scaling.has_value());
  EXPECT_EQ(config->rope_scaling->type, "llama3");
  EXPECT_EQ(config->rope_scaling->factor, 32.0);

  j["rope_parameters"] = {{"rope_theta", "big"}};
  ExpectError(j.dump(), "field 'rope_parameters.rope_theta': expected a number, got string");
  j["rope_parameters"] = {{"rope_theta", 1e4}, {"rope_type", "yarn"}};
  ExpectError(j.dump(), "field 'rope_parameters.factor': missing (required for yarn)");
  j["rope_parameters"] = 3;
  ExpectError(j.dump(), "field 'rope_parameters': expected an object");
}

TEST(HfConfig, RejectsMissingFields) {
  for (const char* field : {"hidden_size", "intermediate_size", "num_hidden_layers",
                            "num_attention_heads", "vocab_size"}) {
    ExpectError(Without(SmolLM2Config(), field).dump(),
                std::string("field '") + field + "': missing (required)");
    ExpectError(With(SmolLM2Config(), field, nullptr).dump(),
                std::string("field '") + field + "': missing");
  }
  ExpectError(Without(SmolLM2Config(), "model_type").dump(), "field 'model_type': missing");
  Json rope = {{"rope_type", "llama3"},
               {"factor", 8.0},
               {"high_freq_factor", 4.0},
               {"original_max_position_embeddings", 8192}};
  ExpectError(With(SmolLM2Config(), "rope_scaling", rope).dump(),
              "field 'rope_scaling.low_freq_factor': missing (required for llama3)");
  ExpectError(With(SmolLM2Config(), "rope_scaling", {{"factor", 2.0}}).dump(),
              "field 'rope_scaling.rope_type': missing");
  ExpectError(With(SmolLM2Config(), "rope_scaling", {{"type", "linear"}}).dump(),
              "field 'rope_scaling.factor': missing (required for linear)");
  ExpectError(
      With(With(Qwen2Config(), "use_sliding_window", true), "sliding_window", nullptr).dump(),
      "field 'sliding_window': missing");
}

TEST(HfConfig, RejectsWrongTypes) {
  ExpectError(With(SmolLM2Config(), "hidden_size", "576").dump(),
              "field 'hidden_size': expected an integer, got string \"576\"");
  ExpectError(With(SmolLM2Config(), "num_hidden_layers", 30.5).dump(),
              "field 'num_hidden_layers': expected an integer, got number 30.5");
  ExpectError(With(SmolLM2Config(), "rms_norm_eps", "1e-5").dump(),
              "field 'rms_norm_eps': expected a number, got string");
  ExpectError(With(SmolLM2Config(), "tie_word_embeddings", "true").dump(),
              "field 'tie_word_embeddings': expected true or false, got string");
  ExpectError(With(SmolLM2Config(), "model_type", 7).dump(),
              "field 'model_type': expected a string, got integer 7");
  ExpectError(With(SmolLM2Config(), "architectures", "LlamaForCausalLM").dump(),
              "field 'architectures': expected a list of strings");
  ExpectError(With(SmolLM2Config(), "rope_scaling", 8.0).dump(),
              "field 'rope_scaling': expected an object");
  ExpectError(With(SmolLM2Config(), "eos_token_id", {2, "x"}).dump(),
              "field 'eos_token_id': expected a non-negative integer token id, got string");
  ExpectError(With(SmolLM2Config(), "bos_token_id", {1, 2}).dump(), "field 'bos_token_id'");
  ExpectError("[1, 2]", "not a JSON object");
  ExpectError("{\"model_type\": \"llama\",", "invalid JSON");
  ExpectError("", "invalid JSON");
}

TEST(HfConfig, RejectsBadValuesAndUnsupportedModels) {
  ExpectError(With(SmolLM2Config(), "model_type", "gpt2").dump(),
              "field 'model_type': unsupported model type \"gpt2\"");
  ExpectError(With(SmolLM2Config(), "model_type", "gemma3").dump(), "unsupported model type");
  ExpectError(With(SmolLM2Config(), "num_key_value_heads", 4).dump(),
              "num_attention_heads 9 is not a multiple of num_key_value_heads 4");
  ExpectError(
      With(With(SmolLM2Config(), "num_attention_heads", 7), "num_key_value_heads", 7).dump(),
      "field 'head_dim': absent, and hidden_size 576 is not a multiple of num_attention_heads 7");
  ExpectError(With(SmolLM2Config(), "num_hidden_layers", 0).dump(),
              "field 'num_hidden_layers': 0 is out of range");
  ExpectError(With(SmolLM2Config(), "hidden_size", -576).dump(),
              "field 'hidden_size': -576 is out of range");
  ExpectError(With(SmolLM2Config(), "vocab_size", uint64_t{1} << 63).dump(),
              "field 'vocab_size': 9223372036854775808 is out of range");
  ExpectError(With(SmolLM2Config(), "rms_norm_eps", 0).dump(),
              "field 'rms_norm_eps': 0 must be a finite number > 0");
  ExpectError(With(SmolLM2Config(), "rope_theta", -1.0).dump(), "field 'rope_theta'");
  ExpectError(With(SmolLM2Config(), "eos_token_id", -1).dump(), "field 'eos_token_id'");
  ExpectError(With(SmolLM2Config(), "rope_scaling", {{"rope_type", "su"}, {"factor", 2.0}}).dump(),
              "field 'rope_scaling.rope_type': unsupported rope scaling type \"su\"");
  Json rope = {{"rope_type", "llama3"},
               {"factor", 8.0},
               {"low_freq_factor", 4.0},
               {"high_freq_factor", 4.0},
               {"original_max_position_embeddings", 8192}};
  ExpectError(With(SmolLM2Config(), "rope_scaling", rope).dump(),
              "field 'rope_scaling.high_freq_factor': 4 must be greater than low_freq_factor 4");
}

TEST(HfConfig, MissingFileNamesThePath) {
  const std::string dir = TempDir() + "/no-config-here";
  std::filesystem::create_directories(dir);
  auto config = LoadHfConfig(dir);
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().message.find(dir + "/config.json: cannot open"), std::string::npos)
      << config.error().message;
}

}  // namespace
}  // namespace qforge
