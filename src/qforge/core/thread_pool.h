// A fixed pool of worker threads for data-parallel loops. The calling thread takes part as
// worker 0, so a pool of N threads starts N-1 workers. Workers spin briefly before sleeping:
// generation issues a few hundred short parallel loops per token, and waking a sleeping
// thread costs more than the work of a small matmul.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qforge {

class ThreadPool {
 public:
  // Called with a half-open range [begin, end) of items and the index of the thread running it.
  using RangeFn = std::function<void(size_t begin, size_t end, int thread)>;

  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Splits [0, n_items) into one contiguous range per thread, rounded to multiples of `grain`,
  // and returns when all ranges are done. Not reentrant.
  void ParallelFor(size_t n_items, const RangeFn& fn, size_t grain = 1);

  // Runs fn(thread) once on every thread.
  void RunOnAll(const std::function<void(int thread)>& fn);

 private:
  void WorkerLoop(int thread);
  void RunJob();

  int n_threads_;
  std::vector<std::thread> workers_;
  std::function<void(int)> job_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace qforge
