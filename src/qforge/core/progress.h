// Progress reporting for long work. Library code takes a ProgressFn and never prints; the CLI
// passes one that draws a status line on stderr.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace qforge {

using ProgressFn = std::function<void(size_t done, size_t total)>;

// Draws "label: done/total (pct%), elapsed, eta" on stderr, at most a few times a second, and
// only when stderr is a terminal or QFORGE_PROGRESS=1 (so logs stay clean).
class StderrProgress {
 public:
  explicit StderrProgress(std::string label);
  void Update(size_t done, size_t total);
  void Finish();
  ProgressFn AsFn() {
    return [this](size_t done, size_t total) { Update(done, total); };
  }

 private:
  std::string label_;
  bool enabled_;
  bool interactive_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool drawn_ = false;
};

}  // namespace qforge
