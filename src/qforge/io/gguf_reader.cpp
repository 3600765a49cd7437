#include "qforge/io/gguf_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace qforge {

namespace {

constexpr int kMaxArrayNesting = 4;

// Reads little-endian values from a bounded buffer; every read is checked.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, const std::string& name)
      : data_(data), size_(size), name_(name) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  Error Fail(const std::string& what) const {
    return MakeError(fmt::format("{}: offset {}: {}", name_, pos_, what));
  }
  Error FailAt(size_t offset, const std::string& what) const {
    return MakeError(fmt::format("{}: offset {}: {}", name_, offset, what));
  }

  template <class T>
  Status Read(T& out, const char* what) {
    if (remaining() < sizeof(T)) {
      return Fail(fmt::format("file truncated while reading {} ({} bytes needed, {} left)", what,
                              sizeof(T), remaining()));
    }
    std::memcpy(&out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  Status ReadString(std::string& out, const char* what) {
    uint64_t length = 0;
    QF_RETURN_IF_ERROR(Read(length, what));
    if (length > remaining()) {
      return Fail(fmt::format("{} length {} exceeds the {} bytes left in the file", what, length,
                              remaining()));
    }
    out.assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return Status::Ok();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& name_;
};

// The fewest bytes a value of this type can occupy; bounds array counts before allocating.
uint64_t MinEncodedSize(GgufType type) {
  switch (type) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    case GgufType::STRING: return 8;
    case GgufType::ARRAY: return 12;
  }
  return 1;
}

template <class T>
Status ReadVector(Cursor& c, uint64_t count, std::vector<T>& out) {
  out.resize(static_cast<size_t>(count));
  for (auto& x : out) QF_RETURN_IF_ERROR(c.Read(x, "array element"));
  return Status::Ok();
}

Status ReadValue(Cursor& c, GgufType type, GgufValue& out, int depth);

Status ReadArray(Cursor& c, GgufArray& out, int depth) {
  if (depth >= kMaxArrayNesting) return c.Fail("arrays nested too deeply");
  uint32_t raw_type = 0;
  uint64_t count = 0;
  QF_RETURN_IF_ERROR(c.Read(raw_type, "array element type"));
  if (raw_type >= kGgufTypeCount) return c.Fail(fmt::format("unknown array element type {}", raw_type));
  QF_RETURN_IF_ERROR(c.Read(count, "array length"));
  const auto type = static_cast<GgufType>(raw_type);
  if (count > c.remaining() / MinEncodedSize(type)) {
    return c.Fail(fmt::format("array of {} {} cannot fit in the {} bytes left", count,
                              GgufTypeName(type), c.remaining()));
  }
  switch (type) {
    case GgufType::UINT8: { std::vector<uint8_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<0>(std::move(v)); break; }
    case GgufType::INT8: { std::vector<int8_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<1>(std::move(v)); break; }
    case GgufType::UINT16: { std::vector<uint16_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<2>(std::move(v)); break; }
    case GgufType::INT16: { std::vector<int16_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<3>(std::move(v)); break; }
    case GgufType::UINT32: { std::vector<uint32_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<4>(std::move(v)); break; }
    case GgufType::INT32: { std::vector<int32_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<5>(std::move(v)); break; }
    case GgufType::FLOAT32: { std::vector<float> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<6>(std::move(v)); break; }
    case GgufType::BOOL: {
      std::vector<uint8_t> v;
      QF_RETURN_IF_ERROR(ReadVector(c, count, v));
      for (uint8_t b : v) {
        if (b > 1) return c.Fail(fmt::format("bool array element has value {}", b));
      }
      out.items.emplace<7>(std::move(v));
      break;
    }
    case GgufType::STRING: {
      std::vector<std::string> v(static_cast<size_t>(count));
      for (auto& s : v) QF_RETURN_IF_ERROR(c.ReadString(s, "string array element"));
      out.items.emplace<8>(std::move(v));
      break;
    }
    case GgufType::ARRAY: {
      std::vector<GgufArray> v(static_cast<size_t>(count));
      for (auto& a : v) QF_RETURN_IF_ERROR(ReadArray(c, a, depth + 1));
      out.items.emplace<9>(std::move(v));
      break;
    }
    case GgufType::UINT64: { std::vector<uint64_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<10>(std::move(v)); break; }
    case GgufType::INT64: { std::vector<int64_t> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<11>(std::move(v)); break; }
    case GgufType::FLOAT64: { std::vector<double> v; QF_RETURN_IF_ERROR(ReadVector(c, count, v)); out.items.emplace<12>(std::move(v)); break; }
  }
  return Status::Ok();
}

template <size_t I, class T>
Status ReadScalar(Cursor& c, GgufValue& out) {
  T x{};
  QF_RETURN_IF_ERROR(c.Read(x, "metadata value"));
  out.emplace<I>(x);
  return Status::Ok();
}

Status ReadValue(Cursor& c, GgufType type, GgufValue& out, int depth) {
  switch (type) {
    case GgufType::UINT8: return ReadScalar<0, uint8_t>(c, out);
    case GgufType::INT8: return ReadScalar<1, int8_t>(c, out);
    case GgufType::UINT16: return ReadScalar<2, uint16_t>(c, out);
    case GgufType::INT16: return ReadScalar<3, int16_t>(c, out);
    case GgufType::UINT32: return ReadScalar<4, uint32_t>(c, out);
    case GgufType::INT32: return ReadScalar<5, int32_t>(c, out);
    case GgufType::FLOAT32: return ReadScalar<6, float>(c, out);
    case GgufType::BOOL: {
      uint8_t b = 0;
      QF_RETURN_IF_ERROR(c.Read(b, "bool value"));
      if (b > 1) return c.Fail(fmt::format("bool value is {}", b));
      out.emplace<7>(b != 0);
      return Status::Ok();
    }
    case GgufType::STRING: {
      std::string s;
      QF_RETURN_IF_ERROR(c.ReadString(s, "string value"));
      out.emplace<8>(std::move(s));
      return Status::Ok();
    }
    case GgufType::ARRAY: {
      GgufArray a;
      QF_RETURN_IF_ERROR(ReadArray(c, a, depth));
      out.emplace<9>(std::move(a));
      return Status::Ok();
    }
    case GgufType::UINT64: return ReadScalar<10, uint64_t>(c, out);
    case GgufType::INT64: return ReadScalar<11, int64_t>(c, out);
    case GgufType::FLOAT64: return ReadScalar<12, double>(c, out);
  }
  return c.Fail("unknown value type");
}

// Names from the file may hold control characters or be very long; error messages show a
// printable, bounded form so they stay one line.
std::string Printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7f) ? fmt::format("\\x{:02x}", c) : std::string(1, static_cast<char>(c));
  }
  if (s.size() > 80) out += "...";
  return out;
}

bool MulOverflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_mul_overflow(a, b, &out); }
bool AddOverflows(uint64_t a, uint64_t b, uint64_t& out) { return __builtin_add_overflow(a, b, &out); }

}  // namespace

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated against overflow when read
  return n;
}

Expected<GgufFile> GgufFile::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped) return mapped.error();
  std::shared_ptr<MappedFile> file = *mapped;
  return Parse(file->data(), file->size(), path, file);
}

Expected<GgufFile> GgufFile::Parse(const uint8_t* data, size_t size, const std::string& name,
                                   std::shared_ptr<const void> keep_alive) {
  GgufFile file;
  file.path_ = name;
  file.file_size_ = size;
  file.keep_alive_ = std::move(keep_alive);
  Cursor c(data, size, file.path_);

  uint32_t magic = 0;
  if (size < 4) return c.Fail(fmt::format("file too short ({} bytes) to be GGUF", size));
  QF_RETURN_IF_ERROR(c.Read(magic, "magic"));
  if (magic != kGgufMagic) {
    return c.FailAt(0, fmt::format("not a GGUF file (magic 0x{:08x}, expected 0x{:08x} \"GGUF\")",
                                   magic, kGgufMagic));
  }
  QF_RETURN_IF_ERROR(c.Read(file.version_, "version"));
  if (file.version_ != 2 && file.version_ != 3) {
    return c.FailAt(4, fmt::format("unsupported GGUF version {} (2 and 3 are supported)",
                                   file.version_));
  }
  uint64_t n_tensors = 0, n_kv = 0;
  QF_RETURN_IF_ERROR(c.Read(n_tensors, "tensor count"));
  QF_RETURN_IF_ERROR(c.Read(n_kv, "metadata count"));
  // A key-value pair takes at least 13 bytes and a tensor description at least 32.
  if (n_kv > c.remaining() / 13) {
    return c.Fail(fmt::format("metadata count {} cannot fit in the {} bytes left (truncated or corrupt)",
                              n_kv, c.remaining()));
  }
  if (n_tensors > c.remaining() / 32) {
    return c.Fail(fmt::format("tensor count {} cannot fit in the {} bytes left (truncated or corrupt)",
                              n_tensors, c.remaining()));
  }

  file.metadata_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const size_t entry_offset = c.offset();
    std::string key;
    QF_RETURN_IF_ERROR(c.ReadString(key, "metadata key"));
    if (key.empty()) return c.FailAt(entry_offset, "empty metadata key");
    uint32_t raw_type = 0;
    QF_RETURN_IF_ERROR(c.Read(raw_type, "metadata value type"));
    if (raw_type >= kGgufTypeCount) {
      return c.Fail(fmt::format("metadata '{}' has unknown value type {}", Printable(key), raw_type));
    }
    GgufValue value;
    QF_RETURN_IF_ERROR(ReadValue(c, static_cast<GgufType>(raw_type), value, 0));
    if (file.metadata_index_.count(key)) {
      return c.FailAt(entry_offset, fmt::format("duplicate metadata key '{}'", Printable(key)));
    }
    file.metadata_index_.emplace(key, file.metadata_.size());
    file.metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const GgufValue* align = file.Find("general.alignment")) {
    const auto a = AsInteger(*align);
    if (TypeOf(*align) != GgufType::UINT32 || !a || *a == 0 || (*a & (*a - 1)) != 0) {
      return c.Fail("general.alignment must be a u32 power of two, got " + FormatGgufValue(*align));
    }
    file.alignment_ = static_cast<uint32_t>(*a);
  }

  file.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const size_t entry_offset = c.offset();
    GgufTensorInfo t;
    QF_RETURN_IF_ERROR(c.ReadString(t.name, "tensor name"));
    uint32_t n_dims = 0;
    QF_RETURN_IF_ERROR(c.Read(n_dims, "tensor dimension count"));
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      return c.Fail(fmt::format("tensor '{}' has {} dimensions (1 to {} allowed)", Printable(t.name), n_dims,
                                kGgufMaxDims));
    }
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      QF_RETURN_IF_ERROR(c.Read(dim, "tensor dimension"));
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          MulOverflows(n_elements, dim, n_elements) ||
          n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return c.Fail(fmt::format("tensor '{}' dimensions overflow", Printable(t.name)));
      }
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    uint32_t raw_type = 0;
    QF_RETURN_IF_ERROR(c.Read(raw_type, "tensor type"));
    const auto info = LookupGgmlType(raw_type);
    if (!info) return c.Fail(fmt::format("tensor '{}' has unknown type id {}", Printable(t.name), raw_type));
    t.type = info->type;
    if (t.shape[0] % info->block_size != 0) {
      return c.Fail(fmt::format("tensor '{}' row length {} is not a multiple of the {} block size {}",
                                Printable(t.name), t.shape[0], info->name, info->block_size));
    }
    if (MulOverflows(n_elements / info->block_size, info->block_bytes, t.n_bytes)) {
      return c.Fail(fmt::format("tensor '{}' byte size overflows", Printable(t.name)));
    }
    QF_RETURN_IF_ERROR(c.Read(t.offset, "tensor offset"));
    if (t.offset % file.alignment_ != 0) {
      return c.Fail(fmt::format("tensor '{}' offset {} is not a multiple of the alignment {}",
                                Printable(t.name), t.offset, file.alignment_));
    }
    if (file.tensor_index_.count(t.name)) {
      return c.FailAt(entry_offset, fmt::format("duplicate tensor name '{}'", Printable(t.name)));
    }
    file.tensor_index_.emplace(t.name, file.tensors_.size());
    file.tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t header_end = c.offset();
  file.data_offset_ = (header_end + file.alignment_ - 1) / file.alignment_ * file.alignment_;
  if (n_tensors > 0 && file.data_offset_ > size) {
    return c.Fail(fmt::format("data section would start at {}, past the end of the {}-byte file",
                              file.data_offset_, size));
  }
  for (auto& t : file.tensors_) {
    uint64_t start = 0, end = 0;
    if (AddOverflows(file.data_offset_, t.offset, start) || AddOverflows(start, t.n_bytes, end) ||
        end > size) {
      return MakeError(fmt::format(
          "{}: tensor '{}' data ({} bytes at offset {}) runs past the end of the {}-byte file "
          "(truncated?)",
          file.path_, Printable(t.name), t.n_bytes, file.data_offset_ + t.offset, size));
    }
    t.data = data + start;
  }
  // Tensors may not share bytes: a writer never produces that, and it would let one tensor's
  // data be read as another's.
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& t : file.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& prev = *by_offset[i - 1];
    if (prev.n_bytes > 0 && by_offset[i]->offset < prev.offset + prev.n_bytes) {
      return MakeError(fmt::format("{}: tensors '{}' and '{}' overlap", file.path_, Printable(prev.name),
                                   Printable(by_offset[i]->name)));
    }
  }
  return file;
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

std::optional<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  return v ? AsInteger(*v) : std::nullopt;
}

std::optional<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  return v ? AsDouble(*v) : std::nullopt;
}

std::optional<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || TypeOf(*v) != GgufType::STRING) return std::nullopt;
  return std::get<std::string>(*v);
}

std::optional<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr || TypeOf(*v) != GgufType::BOOL) return std::nullopt;
  return std::get<bool>(*v);
}

const GgufArray* GgufFile::GetArray(const std::string& key) const {
  const GgufValue* v = Find(key);
  return v ? std::get_if<GgufArray>(v) : nullptr;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qforge
