// Progress reporting for long work. Library code takes a ProgressFn and never prints; the CLI
// passes one that draws a status line on stderr.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace qforge {

using ProgressFn = std::function<void(size_t done, size_t total)>;

// Draws "label: done/total (pct%), elapsed, eta" on stderr: redrawn in place a few times a
// second on a terminal, one line every 10 seconds otherwise (logs). QFORGE_PROGRESS=0 hides it.
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
