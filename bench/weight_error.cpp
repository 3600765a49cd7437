// Importance-weighted squared error of quantized weights, per tensor, for several quantized
// files of the same source model: sum over the tensor of imp[column] * (x - y)^2, relative to
// sum imp[column] * x^2, where x is the source weight, y the quantized file's dequantized
// weight and imp the importance matrix's mean squared activation of the column (1 without
// one). This is the objective the quantizers minimize, so two quantizers of the same type can
// be compared tensor by tensor. Prints a Markdown table and, for the first two files, how
// many tensors of the same type each wins.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <vector>

#include "qforge/calib/imatrix.h"
#include "qforge/formats/registry.h"
#include "qforge/io/gguf_reader.h"

namespace {

using qforge::GgufFile;
using qforge::GgufTensorInfo;

std::vector<float> Dequantize(const GgufTensorInfo& t) {
  std::vector<float> out(static_cast<size_t>(t.n_elements()));
  const qforge::FormatOps* ops = qforge::FindFormatOps(t.type);
  const uint64_t row_bytes = *qforge::RowBytes(t.type, static_cast<uint64_t>(t.row_length()));
  for (int64_t r = 0; r < t.n_rows(); ++r) {
    ops->dequantize_row(t.data + r * row_bytes, out.data() + r * t.row_length(), t.row_length());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Per-tensor importance-weighted quantization error of GGUF files against their source"};
  std::string source_path, imatrix_path;
  std::vector<std::string> files;
  app.add_option("--source", source_path, "Unquantized source model (GGUF)")->required();
  app.add_option("--imatrix", imatrix_path, "Importance matrix (GGUF); uniform weights without");
  app.add_option("files", files, "Quantized GGUF files of the same model")->required();
  CLI11_PARSE(app, argc, argv);

  auto source = GgufFile::Open(source_path);
  if (!source) {
    fmt::print(stderr, "weight_error: {}\n", source.error().message);
    return 2;
  }
  qforge::Imatrix imatrix;
  if (!imatrix_path.empty()) {
    auto loaded = qforge::LoadImatrix(imatrix_path);
    if (!loaded) {
      fmt::print(stderr, "weight_error: {}\n", loaded.error().message);
      return 2;
    }
    imatrix = std::move(*loaded);
  }
  std::vector<GgufFile> candidates;
  for (const auto& f : files) {
    auto file = GgufFile::Open(f);
    if (!file) {
      fmt::print(stderr, "weight_error: {}\n", file.error().message);
      return 2;
    }
    candidates.push_back(std::move(*file));
  }

  fmt::print("| tensor |");
  for (const auto& f : files) fmt::print(" {} type | rel. error |", f.substr(f.find_last_of('/') + 1));
  fmt::print("\n|---|");
  for (size_t i = 0; i < files.size(); ++i) fmt::print("---|---:|");
  fmt::print("\n");
  int compared = 0, first_wins = 0;
  double log_ratio_sum = 0.0;
  for (const GgufTensorInfo& src : source->tensors()) {
    if (src.shape.size() < 2 || !qforge::FindFormatOps(src.type)) continue;
    const std::vector<float> x = Dequantize(src);
    const std::vector<float>* imp = imatrix.Find(src.name);
    const int64_t cols = src.row_length();
    double norm = 0.0;
    for (size_t i = 0; i < x.size(); ++i) norm += (imp ? (*imp)[i % cols] : 1.0) * x[i] * x[i];
    std::vector<double> errors;
    std::vector<std::string> types;
    fmt::print("| {} |", src.name);
    for (const GgufFile& c : candidates) {
      const GgufTensorInfo* t = c.FindTensor(src.name);
      if (!t || t->n_elements() != src.n_elements() || !qforge::FindFormatOps(t->type)) {
        fmt::print(" - | - |");
        errors.push_back(NAN);
        types.emplace_back("-");
        continue;
      }
      const std::vector<float> y = Dequantize(*t);
      double e = 0.0;
      for (size_t i = 0; i < x.size(); ++i) {
        const double diff = static_cast<double>(x[i]) - y[i];
        e += (imp ? (*imp)[i % cols] : 1.0) * diff * diff;
      }
      errors.push_back(norm > 0.0 ? e / norm : 0.0);
      types.emplace_back(qforge::GgmlTypeName(t->type));
      fmt::print(" {} | {:.4e} |", types.back(), errors.back());
    }
    fmt::print("\n");
    if (errors.size() >= 2 && types[0] == types[1] && types[0] != "-" && errors[1] > 0.0 && errors[0] > 0.0) {
      ++compared;
      first_wins += errors[0] < errors[1];
      log_ratio_sum += std::log(errors[0] / errors[1]);
    }
  }
  if (compared > 0) {
    fmt::print("\nsame-type tensors: {}; first file lower error on {} ({:.0f}%); geometric mean error ratio first/second {:.4f}\n",
               compared, first_wins, 100.0 * first_wins / compared, std::exp(log_ratio_sum / compared));
  }
  return 0;
}
