#include "qforge/io/gguf_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "qforge/io/gguf_reader.h"

namespace qforge {

namespace {

// Appends the GGUF encoding of metadata to a byte buffer.
class Encoder {
 public:
  std::vector<uint8_t> bytes;

  template <class T>
  void Put(const T& x) {
    const auto* p = reinterpret_cast<const uint8_t*>(&x);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void PutArray(const GgufArray& a) {
    Put<uint32_t>(static_cast<uint32_t>(a.element_type()));
    Put<uint64_t>(a.size());
    std::visit(
        [&](const auto& vec) {
          for (const auto& x : vec) {
            using E = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<E, std::string>) PutString(x);
            else if constexpr (std::is_same_v<E, GgufArray>) PutArray(x);
            else Put<E>(x);
          }
        },
        a.items);
  }
  void PutValue(const GgufValue& v) {
    std::visit(
        [&](const auto& x) {
          using E = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<E, std::string>) PutString(x);
          else if constexpr (std::is_same_v<E, GgufArray>) PutArray(x);
          else if constexpr (std::is_same_v<E, bool>) Put<uint8_t>(x ? 1 : 0);
          else Put<E>(x);
        },
        v);
  }
};

}  // namespace

GgufWriter::GgufWriter(std::string path, uint32_t alignment)
    : path_(std::move(path)), temp_path_(path_ + ".tmp"), alignment_(alignment) {
  if (alignment_ != kGgufDefaultAlignment) {
    SetMetadata("general.alignment", static_cast<uint32_t>(alignment_));
  }
}

GgufWriter::~GgufWriter() {
  if (out_ != nullptr) std::fclose(out_);
  if (!finished_ && written_ > 0) std::remove(temp_path_.c_str());
}

void GgufWriter::SetMetadata(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::RemoveMetadata(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

Status GgufWriter::AddTensor(const std::string& name, GgmlType type,
                             const std::vector<int64_t>& shape) {
  if (shape.empty() || shape.size() > static_cast<size_t>(kGgufMaxDims)) {
    return MakeError(fmt::format("{}: tensor '{}' has {} dimensions", path_, name, shape.size()));
  }
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return MakeError(fmt::format("{}: tensor '{}' has a negative dimension", path_, name));
    n *= static_cast<uint64_t>(d);
  }
  const auto& info = GgmlTypeInfoOf(type);
  if (shape[0] % info.block_size != 0) {
    return MakeError(fmt::format("{}: tensor '{}' row length {} is not a multiple of {}'s block {}",
                                 path_, name, shape[0], info.name, info.block_size));
  }
  uint64_t offset = 0;
  if (!tensors_.empty()) {
    const auto& last = tensors_.back();
    offset = (last.offset + last.n_bytes + alignment_ - 1) / alignment_ * alignment_;
  }
  tensors_.push_back({name, type, shape, n / info.block_size * info.block_bytes, offset});
  return Status::Ok();
}

Status GgufWriter::WriteBytes(const void* data, size_t n) {
  if (n > 0 && std::fwrite(data, 1, n, out_) != n) {
    return MakeError(fmt::format("{}: write failed: {}", temp_path_, std::strerror(errno)));
  }
  written_ += n;
  return Status::Ok();
}

Status GgufWriter::WritePadding() {
  static const uint8_t kZeros[256] = {};
  const uint64_t padded = (written_ + alignment_ - 1) / alignment_ * alignment_;
  uint64_t left = padded - written_;
  while (left > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, sizeof kZeros));
    QF_RETURN_IF_ERROR(WriteBytes(kZeros, n));
    left -= n;
  }
  return Status::Ok();
}

Status GgufWriter::Begin() {
  out_ = std::fopen(temp_path_.c_str(), "wb");
  if (out_ == nullptr) {
    return MakeError(fmt::format("{}: cannot create: {}", temp_path_, std::strerror(errno)));
  }
  Encoder e;
  e.Put<uint32_t>(kGgufMagic);
  e.Put<uint32_t>(3);
  e.Put<uint64_t>(tensors_.size());
  e.Put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    e.PutString(key);
    e.Put<uint32_t>(static_cast<uint32_t>(TypeOf(value)));
    e.PutValue(value);
  }
  for (const auto& t : tensors_) {
    e.PutString(t.name);
    e.Put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) e.Put<uint64_t>(static_cast<uint64_t>(d));
    e.Put<uint32_t>(static_cast<uint32_t>(t.type));
    e.Put<uint64_t>(t.offset);
  }
  QF_RETURN_IF_ERROR(WriteBytes(e.bytes.data(), e.bytes.size()));
  return WritePadding();
}

Status GgufWriter::WriteTensorData(std::span<const uint8_t> bytes) {
  if (out_ == nullptr) return MakeError(path_ + ": WriteTensorData before Begin");
  if (next_tensor_ >= tensors_.size()) return MakeError(path_ + ": more tensor data than tensors");
  const Tensor& t = tensors_[next_tensor_];
  if (bytes.size() != t.n_bytes) {
    return MakeError(fmt::format("{}: tensor '{}' expects {} bytes, got {}", path_, t.name,
                                 t.n_bytes, bytes.size()));
  }
  QF_RETURN_IF_ERROR(WriteBytes(bytes.data(), bytes.size()));
  ++next_tensor_;
  return WritePadding();
}

Status GgufWriter::Finish() {
  if (out_ == nullptr) return MakeError(path_ + ": Finish before Begin");
  if (next_tensor_ != tensors_.size()) {
    return MakeError(fmt::format("{}: only {} of {} tensors written", path_, next_tensor_,
                                 tensors_.size()));
  }
  const bool flushed = std::fflush(out_) == 0 && ::fsync(fileno(out_)) == 0;
  const bool closed = std::fclose(out_) == 0;
  out_ = nullptr;
  if (!flushed || !closed) {
    return MakeError(fmt::format("{}: write failed: {}", temp_path_, std::strerror(errno)));
  }
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return MakeError(fmt::format("{}: cannot rename from {}: {}", path_, temp_path_,
                                 std::strerror(errno)));
  }
  finished_ = true;
  return Status::Ok();
}

Status WriteGgufFile(const std::string& path,
                     const std::vector<std::pair<std::string, GgufValue>>& metadata,
                     const std::vector<GgufTensorData>& tensors, uint32_t alignment) {
  GgufWriter writer(path, alignment);
  for (const auto& [k, v] : metadata) writer.SetMetadata(k, v);
  for (const auto& t : tensors) QF_RETURN_IF_ERROR(writer.AddTensor(t.name, t.type, t.shape));
  QF_RETURN_IF_ERROR(writer.Begin());
  for (const auto& t : tensors) QF_RETURN_IF_ERROR(writer.WriteTensorData(t.bytes));
  return writer.Finish();
}

}  // namespace qforge
