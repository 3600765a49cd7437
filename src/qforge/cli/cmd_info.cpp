// qforge info MODEL: what a model file holds.
#include <fmt/format.h>

#include <map>
#include <memory>

#include "qforge/cli/commands.h"
#include "qforge/io/gguf_reader.h"

namespace qforge::cli {

namespace {

struct InfoOptions {
  std::string model;
  bool all_metadata = false;
  bool tensors = true;
  std::string key;
};

int RunInfo(const InfoOptions& opt) {
  auto file = GgufFile::Open(opt.model);
  if (!file) return Fail(file.error().message);
  const GgufFile& f = *file;
  if (!opt.key.empty()) {
    const GgufValue* v = f.Find(opt.key);
    if (v == nullptr) return Fail(fmt::format("{}: no metadata key '{}'", f.path(), opt.key));
    if (const auto* s = std::get_if<std::string>(v)) fmt::print("{}\n", *s);  // raw, unquoted
    else fmt::print("{}\n", FormatGgufValue(*v, SIZE_MAX));
    return kExitOk;
  }

  fmt::print("file          {}\n", f.path());
  fmt::print("format        GGUF v{}, alignment {}, {} metadata entries, {} tensors\n", f.version(),
             f.alignment(), f.metadata().size(), f.tensors().size());
  const auto arch = f.GetString("general.architecture").value_or("(none)");
  fmt::print("architecture  {}\n", arch);
  if (auto name = f.GetString("general.name")) fmt::print("name          {}\n", *name);

  uint64_t n_params = 0, n_bytes = 0;
  std::map<std::string, std::pair<int, uint64_t>> by_type;  // type -> tensors, params
  for (const auto& t : f.tensors()) {
    n_params += static_cast<uint64_t>(t.n_elements());
    n_bytes += t.n_bytes;
    auto& entry = by_type[std::string(GgmlTypeName(t.type))];
    entry.first += 1;
    entry.second += static_cast<uint64_t>(t.n_elements());
  }
  fmt::print("parameters    {} ({:.2f} M)\n", n_params, n_params / 1e6);
  fmt::print("tensor bytes  {} ({:.2f} MiB), file {} bytes\n", n_bytes, n_bytes / 1048576.0,
             f.file_size());
  fmt::print("bits/weight   {:.3f}\n", n_params ? 8.0 * n_bytes / n_params : 0.0);
  fmt::print("types        ");
  for (const auto& [type, entry] : by_type) {
    fmt::print(" {}: {} tensors ({:.1f}% of weights);", type, entry.first,
               100.0 * entry.second / std::max<uint64_t>(1, n_params));
  }
  fmt::print("\n\nmetadata\n");
  for (const auto& [key, value] : f.metadata()) {
    fmt::print("  {:<44} {:<7} {}\n", key, GgufTypeName(TypeOf(value)),
               FormatGgufValue(value, opt.all_metadata ? SIZE_MAX : 8));
  }
  if (opt.tensors) {
    fmt::print("\n{:<40} {:<8} {:<24} {:>12} {:>7}\n", "tensor", "type", "shape", "bytes", "bpw");
    for (const auto& t : f.tensors()) {
      std::string shape;
      for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? " x " : "") + std::to_string(t.shape[i]);
      fmt::print("{:<40} {:<8} {:<24} {:>12} {:>7.3f}\n", t.name, GgmlTypeName(t.type), shape,
                 t.n_bytes, t.n_elements() ? 8.0 * t.n_bytes / t.n_elements() : 0.0);
    }
  }
  return kExitOk;
}

}  // namespace

Subcommand AddInfoCommand(CLI::App& root) {
  auto opt = std::make_shared<InfoOptions>();
  CLI::App* app = root.add_subcommand("info", "Show a model's metadata, tensors, types and size");
  app->add_option("model", opt->model, "GGUF model file")->required();
  app->add_flag("--all-metadata", opt->all_metadata, "Print whole arrays (vocabularies) too");
  app->add_flag("!--no-tensors", opt->tensors, "Omit the tensor table");
  app->add_option("--key", opt->key, "Print only this metadata value, in full");
  return {app, [opt] { return RunInfo(*opt); }};
}

}  // namespace qforge::cli
