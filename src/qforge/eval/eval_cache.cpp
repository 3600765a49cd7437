#include "qforge/eval/eval_cache.h"

#include "qforge/io/atomic_file.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

namespace qforge {

namespace {

constexpr char kMagic[8] = {'Q', 'F', 'B', 'A', 'S', 'E', '0', '2'};
constexpr uint64_t kMaxCount = uint64_t{1} << 32;  // no list in a real run comes near this

class Writer {
 public:
  void Raw(const void* p, size_t n) { out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); }
  template <class T>
  void Pod(T v) { Raw(&v, sizeof v); }
  void Str(const std::string& s) {
    Pod<uint64_t>(s.size());
    Raw(s.data(), s.size());
  }
  void Dist(const TopKDistribution& d) {
    Pod<uint32_t>(static_cast<uint32_t>(d.ids.size()));
    Raw(d.ids.data(), d.ids.size() * sizeof(int32_t));
    Raw(d.log_probs.data(), d.log_probs.size() * sizeof(float));
    Pod(d.target_log_prob);
    Pod(d.tail_mass);
  }
  std::string Take() { return out_.str(); }

 private:
  std::ostringstream out_;
};

class Reader {
 public:
  Reader(const std::string& data, const std::string& path) : data_(data), path_(path) {}
  bool ok() const { return ok_; }
  void Raw(void* p, size_t n) {
    if (!ok_ || n > data_.size() - pos_) {
      ok_ = false;
      return;
    }
    std::memcpy(p, data_.data() + pos_, n);
    pos_ += n;
  }
  template <class T>
  T Pod() {
    T v{};
    Raw(&v, sizeof v);
    return v;
  }
  uint64_t Count() {
    const auto n = Pod<uint64_t>();
    if (n > kMaxCount || n > data_.size()) ok_ = false;
    return ok_ ? n : 0;
  }
  std::string Str() {
    const uint64_t n = Count();
    std::string s(n, '\0');
    Raw(s.data(), n);
    return s;
  }
  TopKDistribution Dist() {
    TopKDistribution d;
    const auto k = Pod<uint32_t>();
    if (k > 1u << 20) {
      ok_ = false;
      return d;
    }
    d.ids.resize(k);
    d.log_probs.resize(k);
    Raw(d.ids.data(), k * sizeof(int32_t));
    Raw(d.log_probs.data(), k * sizeof(float));
    d.target_log_prob = Pod<float>();
    d.tail_mass = Pod<float>();
    return d;
  }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  const std::string& data_;
  const std::string& path_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

Status SaveBaselineRun(const std::string& path, const ModelRun& run) {
  Writer w;
  w.Raw(kMagic, sizeof kMagic);
  w.Pod<int32_t>(run.text.n_ctx);
  w.Pod<int32_t>(run.text.n_chunks);
  w.Pod(run.text.ppl);
  w.Pod(run.text.ppl_err);
  w.Pod(run.text.seconds);
  w.Pod<uint64_t>(run.text.dists.size());
  for (const auto& d : run.text.dists) w.Dist(d);
  w.Pod<uint64_t>(run.suites.size());
  for (const SuiteRun& s : run.suites) {
    w.Str(s.name);
    w.Pod(s.seconds);
    w.Pod(s.tokens_evaluated);
    w.Pod<uint64_t>(s.items.size());
    for (const ItemRun& it : s.items) {
      w.Str(it.id);
      w.Pod<int32_t>(it.answer_tokens);
      w.Pod(it.answer_logprob);
      w.Pod<uint64_t>(it.answer_dists.size());
      for (const auto& d : it.answer_dists) w.Dist(d);
      w.Pod<uint64_t>(it.option_logprobs.size());
      for (double v : it.option_logprobs) w.Pod(v);
      w.Pod<int32_t>(it.chosen);
      w.Pod<uint8_t>(it.generated);
      w.Str(it.text);
      w.Pod<int32_t>(it.generated_tokens);
      w.Pod<uint8_t>(it.graded);
      w.Pod<uint8_t>(it.pass);
      w.Str(it.detail);
    }
  }
  w.Pod(run.seconds);
  return WriteFileAtomically(path, w.Take());
}

Expected<CacheLookup> LoadBaselineRun(const std::string& path) {
  CacheLookup result;
  std::ifstream in(path, std::ios::binary);
  if (!in) return result;  // not cached yet
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r(data, path);
  char magic[8];
  r.Raw(magic, sizeof magic);
  // Another version of this format: recomputed and overwritten, like a missing file.
  if (r.ok() && std::memcmp(magic, kMagic, 6) == 0 && std::memcmp(magic, kMagic, sizeof kMagic) != 0) return result;
  if (!r.ok() || std::memcmp(magic, kMagic, sizeof kMagic) != 0) {
    return MakeError(fmt::format("{}: not a qforge baseline cache (delete it to recompute)", path));
  }
  ModelRun& run = result.run;
  run.text.n_ctx = r.Pod<int32_t>();
  run.text.n_chunks = r.Pod<int32_t>();
  run.text.ppl = r.Pod<double>();
  run.text.ppl_err = r.Pod<double>();
  run.text.seconds = r.Pod<double>();
  run.text.dists.resize(r.Count());
  for (auto& d : run.text.dists) d = r.Dist();
  run.suites.resize(r.Count());
  for (SuiteRun& s : run.suites) {
    s.name = r.Str();
    s.seconds = r.Pod<double>();
    s.tokens_evaluated = r.Pod<int64_t>();
    s.items.resize(r.Count());
    for (ItemRun& it : s.items) {
      it.id = r.Str();
      it.answer_tokens = r.Pod<int32_t>();
      it.answer_logprob = r.Pod<double>();
      it.answer_dists.resize(r.Count());
      for (auto& d : it.answer_dists) d = r.Dist();
      it.option_logprobs.resize(r.Count());
      for (double& v : it.option_logprobs) v = r.Pod<double>();
      it.chosen = r.Pod<int32_t>();
      it.generated = r.Pod<uint8_t>() != 0;
      it.text = r.Str();
      it.generated_tokens = r.Pod<int32_t>();
      it.graded = r.Pod<uint8_t>() != 0;
      it.pass = r.Pod<uint8_t>() != 0;
      it.detail = r.Str();
      if (!r.ok()) break;
    }
    if (!r.ok()) break;
  }
  run.seconds = r.Pod<double>();
  if (!r.ok() || !r.AtEnd()) {
    return MakeError(fmt::format("{}: truncated or corrupt baseline cache (delete it to recompute)", path));
  }
  result.found = true;
  return result;
}

std::string DefaultCacheDir() {
  if (const char* dir = std::getenv("QFORGE_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/qforge";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/qforge";
  return ".qforge-cache";
}

}  // namespace qforge
