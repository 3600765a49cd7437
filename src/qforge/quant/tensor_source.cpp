#include "qforge/quant/tensor_source.h"

#include <fmt/format.h>

#include "qforge/formats/registry.h"
#include "qforge/io/gguf_reader.h"
#include "qforge/io/mapped_file.h"

namespace qforge {

namespace {

class GgufSource final : public TensorSource {
 public:
  explicit GgufSource(GgufFile file) : file_(std::move(file)) {
    for (const auto& t : file_.tensors()) tensors_.push_back({t.name, t.shape, t.type});
  }
  const std::string& path() const override { return file_.path(); }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const override {
    return file_.metadata();
  }
  const std::vector<Tensor>& tensors() const override { return tensors_; }

  Status ReadFloat(size_t index, std::vector<float>& out) override {
    const GgufTensorInfo& t = file_.tensors()[index];
    const FormatOps* ops = FindFormatOps(t.type);
    if (ops == nullptr) {
      return MakeError(fmt::format("{}: tensor '{}' has type {}, which qforge cannot convert",
                                   file_.path(), t.name, GgmlTypeName(t.type)));
    }
    out.resize(static_cast<size_t>(t.n_elements()));
    const int64_t row = t.row_length();
    const size_t row_bytes = static_cast<size_t>(*RowBytes(t.type, static_cast<uint64_t>(row)));
    // The source's pages are dropped as they are converted, so the tensor is not held twice
    // (mapped and converted): peak memory stays near one float copy of the largest tensor.
    constexpr size_t kDropEvery = size_t{8} << 20;
    const uint8_t* dropped = t.data;
    for (int64_t r = 0; r < t.n_rows(); ++r) {
      const uint8_t* src = t.data + static_cast<size_t>(r) * row_bytes;
      ops->dequantize_row(src, out.data() + r * row, row);
      if (static_cast<size_t>(src + row_bytes - dropped) >= kDropEvery) {
        DropMappedPages(dropped, src + row_bytes);
        dropped = src + row_bytes;
      }
    }
    return Status::Ok();
  }

  std::span<const uint8_t> RawBytes(size_t index) const override {
    const GgufTensorInfo& t = file_.tensors()[index];
    return {t.data, static_cast<size_t>(t.n_bytes)};
  }

  void Release(size_t index) override {
    const GgufTensorInfo& t = file_.tensors()[index];
    DropMappedPages(t.data, t.data + t.n_bytes);
  }

 private:
  GgufFile file_;
  std::vector<Tensor> tensors_;
};

}  // namespace

Expected<std::unique_ptr<TensorSource>> OpenGgufSource(const std::string& path) {
  auto file = GgufFile::Open(path);
  if (!file) return file.error();
  return std::unique_ptr<TensorSource>(new GgufSource(std::move(*file)));
}

}  // namespace qforge
