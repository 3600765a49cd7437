#include "qforge/io/safetensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "qforge/core/fp16.h"
#include "qforge/io/mapped_file.h"

namespace qforge {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swapping");

namespace {

using Json = nlohmann::json;

struct DtypeInfo {
  SafetensorsDtype dtype;
  std::string_view name;
  size_t size;
};

// Indexed by the enum value.
constexpr std::array<DtypeInfo, 17> kDtypes = {{
    {SafetensorsDtype::BOOL, "BOOL", 1},
    {SafetensorsDtype::U8, "U8", 1},
    {SafetensorsDtype::I8, "I8", 1},
    {SafetensorsDtype::F8_E4M3, "F8_E4M3", 1},
    {SafetensorsDtype::F8_E5M2, "F8_E5M2", 1},
    {SafetensorsDtype::F8_E8M0, "F8_E8M0", 1},
    {SafetensorsDtype::I16, "I16", 2},
    {SafetensorsDtype::U16, "U16", 2},
    {SafetensorsDtype::F16, "F16", 2},
    {SafetensorsDtype::BF16, "BF16", 2},
    {SafetensorsDtype::I32, "I32", 4},
    {SafetensorsDtype::U32, "U32", 4},
    {SafetensorsDtype::F32, "F32", 4},
    {SafetensorsDtype::I64, "I64", 8},
    {SafetensorsDtype::U64, "U64", 8},
    {SafetensorsDtype::F64, "F64", 8},
    {SafetensorsDtype::C64, "C64", 8},
}};

constexpr bool DtypeTableIsIndexed() {
  for (size_t i = 0; i < kDtypes.size(); ++i) {
    if (static_cast<size_t>(kDtypes[i].dtype) != i) return false;
  }
  return true;
}
static_assert(DtypeTableIsIndexed(), "kDtypes must be in enum order");

// A name from a file, safe to put in a one-line message: control characters escaped, long names
// shortened (at a UTF-8 character boundary; the JSON parser has already validated the UTF-8).
std::string Printable(std::string_view s, size_t max_bytes = 80) {
  bool truncated = false;
  if (s.size() > max_bytes) {
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut);
    truncated = true;
  }
  std::string out = "'";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  out += truncated ? "...'" : "'";
  return out;
}

// ASCII-only, bounded rendering of a parser message (it may quote raw bytes of the input).
std::string AsciiOnly(std::string_view s, size_t max_chars = 200) {
  std::string out;
  for (char ch : s.substr(0, max_chars)) {
    const auto c = static_cast<unsigned char>(ch);
    out += (c >= 0x20 && c < 0x7f) ? ch : '?';
  }
  if (s.size() > max_chars) out += "...";
  return out;
}

std::string JsonTypeName(const Json& j) {
  if (j.is_number_unsigned()) return "non-negative integer";
  if (j.is_number_integer()) return "negative integer";
  if (j.is_number_float()) return "floating-point number";
  return j.type_name();
}

struct JsonAbort {
  std::string what;
};

// Parses JSON strictly: besides syntax (and UTF-8) errors, a duplicate key in any object and
// nesting deeper than `max_depth` are errors. Error messages carry no file name.
Expected<Json> ParseStrictJson(std::string_view text, int max_depth) {
  std::vector<std::unordered_set<std::string>> keys;  // keys seen, per object depth
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= max_depth) {
          throw JsonAbort{fmt::format("JSON nested more than {} levels deep", max_depth)};
        }
        if (event == Json::parse_event_t::object_start) {
          if (keys.size() < static_cast<size_t>(depth) + 2) keys.resize(depth + 2);
          keys[depth + 1].clear();
        }
        break;
      case Json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (static_cast<size_t>(depth) < keys.size() && !keys[depth].insert(key).second) {
          throw JsonAbort{"duplicate JSON key " + Printable(key)};
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const JsonAbort& abort) {
    return MakeError(abort.what);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (const size_t close = what.find("] ");
        what.rfind("[json.", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    return MakeError("invalid JSON: " + AsciiOnly(what));
  } catch (const Json::exception& e) {
    return MakeError("invalid JSON: " + AsciiOnly(e.what()));
  }
}

// A JSON non-negative integer that fits in uint64.
bool GetUnsigned(const Json& j, uint64_t& out) {
  if (!j.is_number_unsigned()) return false;
  out = j.get<uint64_t>();
  return true;
}

// Validates one tensor entry against a data section of `data_size` bytes. Messages carry no
// file or tensor name.
Status ParseTensorInfo(const Json& info, uint64_t data_size, SafetensorsTensor& t) {
  if (!info.is_object())
    return MakeError(fmt::format("entry must be an object, not {}", JsonTypeName(info)));
  const auto dtype_it = info.find("dtype");
  if (dtype_it == info.end()) return MakeError("missing \"dtype\"");
  if (!dtype_it->is_string()) {
    return MakeError(fmt::format("\"dtype\" must be a string, not {}", JsonTypeName(*dtype_it)));
  }
  const auto& dtype_name = dtype_it->get_ref<const std::string&>();
  const auto dtype = SafetensorsDtypeFromName(dtype_name);
  if (!dtype) return MakeError("unknown dtype " + Printable(dtype_name));
  t.dtype = *dtype;

  const auto shape_it = info.find("shape");
  if (shape_it == info.end()) return MakeError("missing \"shape\"");
  if (!shape_it->is_array()) {
    return MakeError(fmt::format("\"shape\" must be an array, not {}", JsonTypeName(*shape_it)));
  }
  if (shape_it->size() > SafetensorsFile::kMaxDims) {
    return MakeError(fmt::format("shape has {} dimensions (at most {} allowed)", shape_it->size(),
                                 SafetensorsFile::kMaxDims));
  }
  uint64_t n_elements = 1;
  bool overflow = false;
  for (const Json& dim_json : *shape_it) {
    uint64_t dim = 0;
    if (!GetUnsigned(dim_json, dim) ||
        dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return MakeError(fmt::format("shape entry {} is not a non-negative 64-bit integer",
                                   AsciiOnly(dim_json.dump()).substr(0, 40)));
    }
    t.shape.push_back(static_cast<int64_t>(dim));
    overflow = overflow || __builtin_mul_overflow(n_elements, dim, &n_elements);
  }
  uint64_t n_bytes = 0;
  if (overflow || n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
      __builtin_mul_overflow(n_elements, SafetensorsDtypeSize(t.dtype), &n_bytes)) {
    return MakeError("shape overflows 64 bits");
  }

  const auto offsets_it = info.find("data_offsets");
  if (offsets_it == info.end()) return MakeError("missing \"data_offsets\"");
  uint64_t begin = 0, end = 0;
  if (!offsets_it->is_array() || offsets_it->size() != 2 || !GetUnsigned((*offsets_it)[0], begin) ||
      !GetUnsigned((*offsets_it)[1], end)) {
    return MakeError("\"data_offsets\" is not an array of two non-negative integers [begin, end]");
  }
  if (begin > end)
    return MakeError(fmt::format("data_offsets [{}, {}]: begin is after end", begin, end));
  if (end > data_size) {
    return MakeError(fmt::format(
        "data_offsets [{}, {}] run past the end of the {}-byte data section (truncated?)", begin,
        end, data_size));
  }
  if (end - begin != n_bytes) {
    return MakeError(fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] hold {}",
                                 AsciiOnly(shape_it->dump()).substr(0, 80), dtype_name, n_bytes,
                                 begin, end, end - begin));
  }
  t.offset = begin;
  t.n_bytes = n_bytes;
  return Status::Ok();
}

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

std::string_view SafetensorsDtypeName(SafetensorsDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)].name;
}

std::optional<SafetensorsDtype> SafetensorsDtypeFromName(std::string_view name) {
  for (const auto& info : kDtypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

size_t SafetensorsDtypeSize(SafetensorsDtype dtype) {
  return kDtypes[static_cast<size_t>(dtype)].size;
}

bool IsFloat32Convertible(SafetensorsDtype dtype) {
  return dtype == SafetensorsDtype::F32 || dtype == SafetensorsDtype::F16 ||
         dtype == SafetensorsDtype::BF16;
}

int64_t SafetensorsTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated against overflow when read
  return n;
}

// --- SafetensorsFile

Expected<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  auto mapped = MappedFile::Open(path);
  if (!mapped) return mapped.error();
  std::shared_ptr<MappedFile> file = *mapped;
  return Parse(file->data(), file->size(), path, file);
}

Expected<SafetensorsFile> SafetensorsFile::Parse(const uint8_t* data, size_t size,
                                                 const std::string& name,
                                                 std::shared_ptr<const void> keep_alive) {
  auto fail = [&name](const std::string& what) {
    return MakeError(fmt::format("{}: {}", name, what));
  };
  if (size < 8) {
    return fail(
        fmt::format("file too short ({} bytes) to be safetensors (no 8-byte header length)", size));
  }
  uint64_t header_size = 0;
  std::memcpy(&header_size, data, 8);
  const uint64_t after_length = size - 8;
  if (header_size > kMaxHeaderBytes) {
    return fail(
        fmt::format("header length {} exceeds the {}-byte limit (corrupt or not safetensors)",
                    header_size, kMaxHeaderBytes));
  }
  if (header_size > after_length) {
    return fail(
        fmt::format("header length {} exceeds the {} bytes after the length field "
                    "(truncated or not safetensors)",
                    header_size, after_length));
  }
  if (header_size < 2) {
    return fail(fmt::format("header length {} is too short for a JSON object", header_size));
  }
  const std::string_view header(reinterpret_cast<const char*>(data + 8),
                                static_cast<size_t>(header_size));
  if (header[0] != '{') return fail("header does not start with '{' (not safetensors?)");

  auto parsed = ParseStrictJson(header, kMaxJsonDepth);
  if (!parsed) return fail("header: " + parsed.error().message);
  const Json& root = *parsed;
  if (!root.is_object()) return fail("header is not a JSON object");

  SafetensorsFile file;
  file.path_ = name;
  file.file_size_ = size;
  file.header_size_ = header_size;
  file.keep_alive_ = std::move(keep_alive);
  const uint64_t data_size = after_length - header_size;
  const uint8_t* data_section = data + 8 + header_size;

  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) {
        return fail(
            fmt::format("header: \"__metadata__\" must be an object, not {}", JsonTypeName(value)));
      }
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string()) {
          return fail(fmt::format("header: __metadata__ {} must be a string, not {}",
                                  Printable(meta_key), JsonTypeName(meta_value)));
        }
        file.metadata_.emplace_back(meta_key, meta_value.get<std::string>());
      }
      continue;
    }
    if (key.empty()) return fail("header: a tensor has an empty name");
    SafetensorsTensor t;
    t.name = key;
    if (Status s = ParseTensorInfo(value, data_size, t); !s.ok()) {
      return fail(fmt::format("tensor {}: {}", Printable(key), s.error().message));
    }
    t.data = data_section + t.offset;
    file.tensors_.push_back(std::move(t));
  }

  // File order: by offset (the JSON object itself is unordered).
  std::stable_sort(
      file.tensors_.begin(), file.tensors_.end(),
      [](const SafetensorsTensor& a, const SafetensorsTensor& b) { return a.offset < b.offset; });
  const SafetensorsTensor* furthest = nullptr;  // the non-empty tensor ending last so far
  for (const auto& t : file.tensors_) {
    if (t.n_bytes == 0) continue;
    if (furthest != nullptr && t.offset < furthest->offset + furthest->n_bytes) {
      return fail(fmt::format("tensors {} [{}, {}) and {} [{}, {}) overlap",
                              Printable(furthest->name), furthest->offset,
                              furthest->offset + furthest->n_bytes, Printable(t.name), t.offset,
                              t.offset + t.n_bytes));
    }
    if (furthest == nullptr || t.offset + t.n_bytes > furthest->offset + furthest->n_bytes) {
      furthest = &t;
    }
  }
  file.tensor_index_.reserve(file.tensors_.size());
  for (size_t i = 0; i < file.tensors_.size(); ++i) {
    file.tensor_index_.emplace(file.tensors_[i].name, i);
  }
  return file;
}

const std::string* SafetensorsFile::FindMetadata(const std::string& key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const SafetensorsTensor* SafetensorsFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::ReadFloat32(const SafetensorsTensor& tensor, std::span<float> out) const {
  if (!IsFloat32Convertible(tensor.dtype)) {
    return MakeError(fmt::format(
        "{}: tensor {} has dtype {}, which does not convert to float32 (F32, F16 and BF16 do)",
        path_, Printable(tensor.name), SafetensorsDtypeName(tensor.dtype)));
  }
  const auto n = static_cast<size_t>(tensor.n_elements());
  if (out.size() != n) {
    return MakeError(fmt::format("{}: tensor {} has {} elements but the output holds {}", path_,
                                 Printable(tensor.name), n, out.size()));
  }
  const uint8_t* src = tensor.data;
  switch (tensor.dtype) {
    case SafetensorsDtype::F32:
      if (n > 0) std::memcpy(out.data(), src, n * sizeof(float));
      break;
    case SafetensorsDtype::F16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = Fp16ToFp32(h);
      }
      break;
    case SafetensorsDtype::BF16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = Bf16ToFp32(h);
      }
      break;
    default:
      break;  // excluded above
  }
  return Status::Ok();
}

Expected<std::vector<float>> SafetensorsFile::ReadFloat32(const SafetensorsTensor& tensor) const {
  std::vector<float> out;
  if (IsFloat32Convertible(tensor.dtype)) out.resize(static_cast<size_t>(tensor.n_elements()));
  QF_RETURN_IF_ERROR(ReadFloat32(tensor, out));
  return out;
}

Expected<std::vector<float>> SafetensorsFile::ReadFloat32(const std::string& name) const {
  const SafetensorsTensor* t = FindTensor(name);
  if (t == nullptr) return MakeError(fmt::format("{}: no tensor named {}", path_, Printable(name)));
  return ReadFloat32(*t);
}

// --- SafetensorsCheckpoint

Status SafetensorsCheckpoint::AddShard(SafetensorsFile shard) {
  const size_t shard_index = shards_.size();
  for (size_t i = 0; i < shard.tensors().size(); ++i) {
    const std::string& name = shard.tensors()[i].name;
    const auto [it, inserted] = locations_.emplace(name, Location{shard_index, i});
    if (!inserted) {
      return MakeError(fmt::format("{}: tensor {} is in two shards, {} and {}", path_,
                                   Printable(name), FileName(shards_[it->second.shard].path()),
                                   FileName(shard.path())));
    }
  }
  shards_.push_back(std::move(shard));
  return Status::Ok();
}

Expected<SafetensorsCheckpoint> SafetensorsCheckpoint::Open(const std::string& path) {
  namespace fs = std::filesystem;
  SafetensorsCheckpoint ckpt;
  ckpt.path_ = path;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return MakeError(path + ": no such file or directory");

  if (!fs::is_directory(status)) {
    auto file = SafetensorsFile::Open(path);
    if (!file) return file.error();
    QF_RETURN_IF_ERROR(ckpt.AddShard(std::move(*file)));
    return ckpt;
  }

  const fs::path dir(path);
  const fs::path index_path = dir / kIndexFileName;
  if (fs::exists(index_path, ec)) {
    ckpt.index_path_ = index_path.string();
    auto fail = [&ckpt](const std::string& what) {
      return MakeError(fmt::format("{}: {}", ckpt.index_path_, what));
    };
    auto text = ReadTextFile(ckpt.index_path_);
    if (!text) return text.error();
    auto parsed = ParseStrictJson(*text, 8);
    if (!parsed) return fail(parsed.error().message);
    const Json& root = *parsed;
    if (!root.is_object()) return fail("not a JSON object");
    const auto map_it = root.find("weight_map");
    if (map_it == root.end()) return fail("missing \"weight_map\"");
    if (!map_it->is_object()) {
      return fail(fmt::format("\"weight_map\" must be an object, not {}", JsonTypeName(*map_it)));
    }
    if (map_it->empty()) return fail("\"weight_map\" is empty");
    std::vector<std::string> shard_names;
    for (const auto& [tensor, shard] : map_it->items()) {
      if (!shard.is_string()) {
        return fail(fmt::format("weight_map entry {} must be a file name, not {}",
                                Printable(tensor), JsonTypeName(shard)));
      }
      const auto& file_name = shard.get_ref<const std::string&>();
      // Shards must be plain file names inside the checkpoint directory.
      if (file_name.empty() || file_name == "." || file_name == ".." ||
          file_name.find('/') != std::string::npos || file_name.find('\\') != std::string::npos ||
          file_name.find('\0') != std::string::npos) {
        return fail(fmt::format("weight_map entry {} names {}, which is not a plain file name",
                                Printable(tensor), Printable(file_name)));
      }
      shard_names.push_back(file_name);
    }
    std::sort(shard_names.begin(), shard_names.end());
    shard_names.erase(std::unique(shard_names.begin(), shard_names.end()), shard_names.end());
    for (const auto& shard_name : shard_names) {
      auto file = SafetensorsFile::Open((dir / shard_name).string());
      if (!file) return file.error();
      QF_RETURN_IF_ERROR(ckpt.AddShard(std::move(*file)));
    }
    for (const auto& [tensor, shard] : map_it->items()) {
      const auto& file_name = shard.get_ref<const std::string&>();
      const SafetensorsFile* holder = ckpt.ShardOf(tensor);
      if (holder == nullptr || FileName(holder->path()) != file_name) {
        return fail(fmt::format("weight_map puts tensor {} in {}, which does not hold it",
                                Printable(tensor), Printable(file_name)));
      }
    }
    return ckpt;
  }

  std::vector<std::string> files;
  fs::directory_iterator it(dir, ec);
  if (ec) return MakeError(fmt::format("{}: cannot list directory: {}", path, ec.message()));
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return MakeError(fmt::format("{}: cannot list directory: {}", path, ec.message()));
    if (it->path().extension() == ".safetensors" && it->is_regular_file(ec)) {
      files.push_back(it->path().string());
    }
  }
  if (ec) return MakeError(fmt::format("{}: cannot list directory: {}", path, ec.message()));
  if (files.empty()) {
    return MakeError(fmt::format("{}: no *.safetensors files and no {}", path, kIndexFileName));
  }
  std::sort(files.begin(), files.end());
  for (const auto& file_path : files) {
    auto file = SafetensorsFile::Open(file_path);
    if (!file) return file.error();
    QF_RETURN_IF_ERROR(ckpt.AddShard(std::move(*file)));
  }
  return ckpt;
}

std::vector<const SafetensorsTensor*> SafetensorsCheckpoint::tensors() const {
  std::vector<const SafetensorsTensor*> out;
  out.reserve(locations_.size());
  for (const auto& shard : shards_) {
    for (const auto& t : shard.tensors()) out.push_back(&t);
  }
  return out;
}

const SafetensorsTensor* SafetensorsCheckpoint::FindTensor(const std::string& name) const {
  auto it = locations_.find(name);
  if (it == locations_.end()) return nullptr;
  return &shards_[it->second.shard].tensors()[it->second.tensor];
}

const SafetensorsFile* SafetensorsCheckpoint::ShardOf(const std::string& name) const {
  auto it = locations_.find(name);
  return it == locations_.end() ? nullptr : &shards_[it->second.shard];
}

Expected<std::vector<float>> SafetensorsCheckpoint::ReadFloat32(const std::string& name) const {
  auto it = locations_.find(name);
  if (it == locations_.end()) {
    return MakeError(fmt::format("{}: no tensor named {} in {} shard(s)", path_, Printable(name),
                                 shards_.size()));
  }
  const SafetensorsFile& shard = shards_[it->second.shard];
  return shard.ReadFloat32(shard.tensors()[it->second.tensor]);
}

}  // namespace qforge
