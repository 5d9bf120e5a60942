#pragma once

// platform/-internal: a few threads the platform owns for work that waits (a streaming step
// publishes its output lanes side by side, so that their appends share the output log's syncs).

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace loom::platform {

// Thread-safe: RunAll may be called from several threads at once; each call returns when its own
// tasks have run. The destructor joins the threads; no RunAll may be in progress then.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs tasks[0] on the calling thread and the others on the pool's threads, and returns once
  // every one has returned. Tasks must not throw.
  void RunAll(const std::vector<std::function<void()>>& tasks);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace loom::platform
