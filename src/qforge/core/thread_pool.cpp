#include "qforge/core/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define QF_CPU_RELAX() _mm_pause()
#else
#define QF_CPU_RELAX() std::this_thread::yield()
#endif

namespace qforge {

namespace {
constexpr int kSpinIterations = 1 << 16;  // ~ tens of microseconds before sleeping
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  workers_.reserve(n_threads_ - 1);
  for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { WorkerLoop(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::WorkerLoop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t current = generation_.load(std::memory_order_acquire);
    for (int i = 0; current == seen && i < kSpinIterations; ++i) {
      QF_CPU_RELAX();
      current = generation_.load(std::memory_order_acquire);
    }
    if (current == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      current = generation_.load(std::memory_order_acquire);
    }
    seen = current;
    if (stop_.load()) return;
    job_(thread);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::RunOnAll(const std::function<void(int thread)>& fn) {
  if (n_threads_ == 1) {
    fn(0);
    return;
  }
  job_ = fn;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  {
    // Taking the lock orders the generation bump against a worker about to sleep.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  fn(0);
  while (pending_.load(std::memory_order_acquire) != 0) QF_CPU_RELAX();
}

void ThreadPool::ParallelFor(size_t n_items, const RangeFn& fn, size_t grain) {
  if (n_items == 0) return;
  grain = std::max<size_t>(1, grain);
  const size_t n_chunks = (n_items + grain - 1) / grain;
  const size_t n_used = std::min<size_t>(n_threads_, n_chunks);
  if (n_used <= 1) {
    fn(0, n_items, 0);
    return;
  }
  RunOnAll([&](int thread) {
    if (static_cast<size_t>(thread) >= n_used) return;
    const size_t first_chunk = n_chunks * thread / n_used;
    const size_t last_chunk = n_chunks * (thread + 1) / n_used;
    const size_t begin = first_chunk * grain;
    const size_t end = std::min(n_items, last_chunk * grain);
    if (begin < end) fn(begin, end, thread);
  });
}

}  // namespace qforge
