// A fixed pool of worker threads for data-parallel loops. The calling thread takes part as
// worker 0, so a pool of N threads starts N-1 workers. Workers spin briefly before sleeping:
// generation issues a few hundred short parallel loops per token, and waking a sleeping
// thread costs more than the work of a small matmul. Spinning yields the CPU regularly and
// work is handed out in chunks on demand, so a machine with more runnable threads than cores
// (a shared CI box, two evals at once) slows down in proportion instead of waiting a
// scheduler time slice for a preempted worker at every loop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
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

  // Splits [0, n_items) into contiguous chunks (multiples of `grain`, a few per thread) that
  // the threads take in turn, and returns when all are done. `fn` may be called several times
  // per thread; which thread runs which chunk varies, so results must not depend on it. Not
  // reentrant.
  void ParallelFor(size_t n_items, const RangeFn& fn, size_t grain = 1);


 private:
  // One ParallelFor call. Workers that wake after its chunks are all taken find none and
  // leave; the caller returns once every chunk is done, never waiting for a thread that has
  // no work (it may be preempted by another process for a whole time slice).
  struct Job {
    const RangeFn* fn = nullptr;
    size_t n_items = 0, per_chunk = 0, n_chunks = 0;
    std::atomic<size_t> next{0};
    std::atomic<size_t> done{0};
    void RunChunks(int thread);
  };
  void WorkerLoop(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::shared_ptr<Job> job_;  // guarded by mutex_
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace qforge
