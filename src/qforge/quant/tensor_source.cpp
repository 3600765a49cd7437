#include "qforge/quant/tensor_source.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qforge/formats/registry.h"
#include "qforge/io/gguf_reader.h"

namespace qforge {

namespace {

// Drops the whole pages strictly inside [begin, end) of a read-only file mapping: they were
// read and are not needed again (the kernel reads them back from the file if they are).
void DropPages(const uint8_t* begin_ptr, const uint8_t* end_ptr) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = reinterpret_cast<uintptr_t>(begin_ptr);
  uintptr_t end = reinterpret_cast<uintptr_t>(end_ptr);
  begin = (begin + page - 1) / page * page;
  end = end / page * page;
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

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
        DropPages(dropped, src + row_bytes);
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
    // Whole pages strictly inside the tensor: neighbours may still be needed.
    const GgufTensorInfo& t = file_.tensors()[index];
    DropPages(t.data, t.data + t.n_bytes);
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
