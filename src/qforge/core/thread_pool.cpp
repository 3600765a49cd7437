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
constexpr int kSpinIterations = 1 << 15;  // ~ a millisecond of waiting before sleeping
constexpr int kYieldEvery = 128;          // give the core away this often while spinning

inline void SpinPause(int i) {
  if (i % kYieldEvery == kYieldEvery - 1) {
    std::this_thread::yield();
  } else {
    QF_CPU_RELAX();
  }
}
}  // namespace

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

void ThreadPool::Job::RunChunks(int thread) {
  for (size_t c = next.fetch_add(1, std::memory_order_relaxed); c < n_chunks;
       c = next.fetch_add(1, std::memory_order_relaxed)) {
    (*fn)(c * per_chunk, std::min(n_items, (c + 1) * per_chunk), thread);
    done.fetch_add(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::WorkerLoop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t current = generation_.load(std::memory_order_acquire);
    for (int i = 0; current == seen && i < kSpinIterations; ++i) {
      SpinPause(i);
      current = generation_.load(std::memory_order_acquire);
    }
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (current == seen) {
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      seen = generation_.load(std::memory_order_acquire);
      job = job_;
    }
    if (stop_.load()) return;
    if (job) job->RunChunks(thread);
  }
}

void ThreadPool::ParallelFor(size_t n_items, const RangeFn& fn, size_t grain) {
  if (n_items == 0) return;
  grain = std::max<size_t>(1, grain);
  if (n_threads_ == 1 || n_items <= grain) {
    fn(0, n_items, 0);
    return;
  }
  // About four chunks per thread: enough to rebalance when a thread is preempted or slower,
  // few enough that taking one (an atomic increment) stays negligible.
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n_items = n_items;
  job->per_chunk = std::max(grain, (n_items / (4 * static_cast<size_t>(n_threads_)) + grain - 1) / grain * grain);
  job->n_chunks = (n_items + job->per_chunk - 1) / job->per_chunk;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = job;
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  wake_.notify_all();
  job->RunChunks(0);
  for (int i = 0; job->done.load(std::memory_order_acquire) != job->n_chunks; ++i) SpinPause(i);
  // A late worker may still hold `job`; it finds no chunk left and never calls `fn`.
}

}  // namespace qforge
