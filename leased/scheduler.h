// The daemon's background jobs (spool replay, cluster outbox, and later expiry,
// retention, the Kubernetes watch): each registered with a name and a period, run
// on one thread until Stop. Jobs run one at a time, in registration order when due
// together; a slow job delays the others rather than overlapping them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vmip {

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;

  Scheduler() = default;
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler() { Stop(); }

  // Runs `job` every `period`, the first time one period after Start. Before Start.
  void Every(std::string name, Clock::duration period, std::function<void()> job);
  void Start();
  // Waits for the job in progress, then runs none again. Safe to call twice.
  void Stop();

 private:
  struct Job {
    std::string name;
    Clock::duration period;
    std::function<void()> run;
    Clock::time_point due;
  };
  void Loop();

  std::vector<Job> jobs_;  // fixed once started; only the loop thread touches `due`
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace vmip
