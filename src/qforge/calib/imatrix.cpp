#include "qforge/calib/imatrix.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "qforge/io/gguf_reader.h"
#include "qforge/io/gguf_writer.h"

namespace qforge {

namespace {
constexpr const char* kSumSuffix = ".in_sum2";
constexpr const char* kCountSuffix = ".counts";

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void ImatrixCollector::Observe(const WeightMatrix& w, const float* x, int64_t n_rows) {
  if (w.name == nullptr) return;
  ImatrixEntry& e = entries_[*w.name];
  if (e.sum_sq.empty()) e.sum_sq.assign(static_cast<size_t>(w.n_in), 0.0);
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = x + r * w.n_in;
    for (int64_t j = 0; j < w.n_in; ++j) e.sum_sq[j] += static_cast<double>(row[j]) * row[j];
  }
  e.count += n_rows;
}

Status ImatrixCollector::CheckFinite() const {
  for (const auto& [name, e] : entries_) {
    for (double v : e.sum_sq) {
      if (!std::isfinite(v)) return MakeError(fmt::format("non-finite activations reach {}", name));
    }
  }
  return Status::Ok();
}

Status SaveImatrix(const std::string& path, const std::map<std::string, ImatrixEntry>& entries,
                   const ImatrixFileInfo& info) {
  GgufWriter writer(path);
  writer.SetMetadata("general.type", std::string("imatrix"));
  GgufArray datasets;
  datasets.items.emplace<8>(info.datasets);
  writer.SetMetadata("imatrix.datasets", datasets);
  writer.SetMetadata("imatrix.chunk_count", info.chunk_count);
  writer.SetMetadata("imatrix.chunk_size", info.chunk_size);
  std::vector<std::vector<float>> data;
  for (const auto& [name, e] : entries) {
    QF_RETURN_IF_ERROR(writer.AddTensor(name + kSumSuffix, GgmlType::F32,
                                        {static_cast<int64_t>(e.sum_sq.size()), 1}));
    QF_RETURN_IF_ERROR(writer.AddTensor(name + kCountSuffix, GgmlType::F32, {1, 1}));
    data.emplace_back(e.sum_sq.begin(), e.sum_sq.end());
    data.push_back({static_cast<float>(e.count)});
  }
  QF_RETURN_IF_ERROR(writer.Begin());
  for (const auto& d : data) {
    QF_RETURN_IF_ERROR(writer.WriteTensorData(
        {reinterpret_cast<const uint8_t*>(d.data()), d.size() * sizeof(float)}));
  }
  return writer.Finish();
}

const std::vector<float>* Imatrix::Find(const std::string& weight_name) const {
  auto it = importance.find(weight_name);
  return it == importance.end() ? nullptr : &it->second;
}

Expected<Imatrix> LoadImatrix(const std::string& path) {
  auto file = GgufFile::Open(path);
  if (!file) return file.error();
  const GgufFile& f = *file;
  if (f.GetString("general.type").value_or("") != "imatrix") {
    return MakeError(path + ": not an importance matrix (general.type is not \"imatrix\")");
  }
  Imatrix m;
  if (const GgufArray* ds = f.GetArray("imatrix.datasets")) {
    if (const auto* names = std::get_if<8>(&ds->items)) m.info.datasets = *names;
  }
  m.info.chunk_count = static_cast<uint32_t>(f.GetInt("imatrix.chunk_count").value_or(0));
  m.info.chunk_size = static_cast<uint32_t>(f.GetInt("imatrix.chunk_size").value_or(0));
  for (const auto& t : f.tensors()) {
    if (!EndsWith(t.name, kSumSuffix)) continue;
    const std::string weight = t.name.substr(0, t.name.size() - std::strlen(kSumSuffix));
    const GgufTensorInfo* counts = f.FindTensor(weight + kCountSuffix);
    if (counts == nullptr) return MakeError(fmt::format("{}: '{}' has no counts tensor", path, t.name));
    if (t.type != GgmlType::F32 || counts->type != GgmlType::F32) {
      return MakeError(fmt::format("{}: '{}' statistics are not F32", path, weight));
    }
    const int64_t n_mat = counts->n_elements();
    if (n_mat < 1 || t.n_elements() % n_mat != 0) {
      return MakeError(fmt::format("{}: '{}' has {} values for {} matrices", path, weight,
                                   t.n_elements(), n_mat));
    }
    const int64_t n = t.n_elements() / n_mat;
    std::vector<float> sums(static_cast<size_t>(t.n_elements())), cnt(static_cast<size_t>(n_mat));
    std::memcpy(sums.data(), t.data, t.n_bytes);
    std::memcpy(cnt.data(), counts->data, counts->n_bytes);
    // Mean squared activation per column; matrices stacked along dim 1 (experts) are averaged.
    std::vector<float> mean(static_cast<size_t>(n), 0.0f);
    for (int64_t e = 0; e < n_mat; ++e) {
      if (!(cnt[e] > 0.0f)) continue;
      for (int64_t j = 0; j < n; ++j) mean[j] += sums[e * n + j] / cnt[e] / static_cast<float>(n_mat);
    }
    for (float v : mean) {
      if (!std::isfinite(v) || v < 0.0f) {
        return MakeError(fmt::format("{}: '{}' has a negative or non-finite value", path, weight));
      }
    }
    m.importance.emplace(weight, std::move(mean));
  }
  if (m.importance.empty()) return MakeError(path + ": the importance matrix holds no tensors");
  return m;
}

Imatrix MeanImportance(const std::map<std::string, ImatrixEntry>& entries) {
  Imatrix m;
  for (const auto& [name, e] : entries) {
    if (e.count < 1) continue;
    std::vector<float> mean(e.sum_sq.size());
    // In float, as LoadImatrix divides the file's float sums and counts: statistics used
    // directly and the same statistics saved and loaded again weight the fits identically.
    const float count = static_cast<float>(e.count);
    for (size_t j = 0; j < mean.size(); ++j) mean[j] = static_cast<float>(e.sum_sq[j]) / count;
    m.importance.emplace(name, std::move(mean));
  }
  return m;
}

}  // namespace qforge
