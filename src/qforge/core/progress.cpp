#include "qforge/core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace qforge {

StderrProgress::StderrProgress(std::string label)
    : label_(std::move(label)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  interactive_ = ::isatty(STDERR_FILENO) != 0;
  const char* env = std::getenv("QFORGE_PROGRESS");
  enabled_ = env ? std::strcmp(env, "0") != 0 : true;
}

void StderrProgress::Update(size_t done, size_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const bool last = done >= total;
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (!last && drawn_ && since_draw < (interactive_ ? 0.25 : 10.0)) return;
  last_draw_ = now;
  drawn_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double pct = total ? 100.0 * done / total : 100.0;
  std::string eta;
  if (done > 0 && done < total) eta = fmt::format(", eta {:.0f}s", elapsed / done * (total - done));
  std::fprintf(stderr, "%s%s: %zu/%zu (%.0f%%), %.1fs%s%s", interactive_ ? "\r\033[K" : "",
               label_.c_str(), done, total, pct, elapsed, eta.c_str(), interactive_ ? "" : "\n");
  std::fflush(stderr);
}

void StderrProgress::Finish() {
  if (enabled_ && drawn_ && interactive_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace qforge
