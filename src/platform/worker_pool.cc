#include "platform/worker_pool.h"

#include <latch>
#include <memory>

namespace loom::platform {

WorkerPool::WorkerPool(int threads) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (true) {
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and nothing left
        std::function<void()> job = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        job();
        lock.lock();
      }
    });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void WorkerPool::RunAll(const std::vector<std::function<void()>>& tasks) {
  if (tasks.empty()) return;
  // Shared with the jobs: a job may still be leaving count_down() when Wait() returns here.
  auto done = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(tasks.size() - 1));
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 1; i < tasks.size(); ++i) {
      queue_.push_back([&tasks, i, done] {
        tasks[i]();
        done->count_down();
      });
    }
  }
  cv_.notify_all();
  tasks[0]();
  done->wait();
}

}  // namespace loom::platform
