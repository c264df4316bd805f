#include "scheduler.h"

#include <algorithm>

namespace vmip {

void Scheduler::Every(std::string name, Clock::duration period, std::function<void()> job) {
  jobs_.push_back(Job{std::move(name), period, std::move(job), Clock::time_point{}});
}

void Scheduler::Start() {
  Clock::time_point now = Clock::now();
  for (Job& j : jobs_) j.due = now + j.period;
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  if (jobs_.empty()) return;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    auto next = std::min_element(jobs_.begin(), jobs_.end(),
                                 [](const Job& a, const Job& b) { return a.due < b.due; });
    if (cv_.wait_until(lock, next->due, [this] { return stop_; })) break;
    lock.unlock();  // jobs take their own locks; Stop must not wait behind one
    Clock::time_point now = Clock::now();
    for (Job& j : jobs_) {
      if (j.due > now) continue;
      j.run();
      j.due = now + j.period;
    }
    lock.lock();
  }
}

}  // namespace vmip
