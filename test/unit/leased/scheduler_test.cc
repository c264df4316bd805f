// The periodic-job runner (leased/scheduler.h): jobs run on their period, in
// registration order when due together, and never again once Stop returns.
#include "scheduler.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <vector>

using namespace vmip;
using namespace std::chrono_literals;

TEST_CASE("jobs due together run in registration order, each on its period", "[scheduler]") {
  std::mutex mu;
  std::vector<std::string> ran;
  std::atomic<int> slow{0};
  Scheduler s;
  s.Every("first", 20ms, [&] {
    std::lock_guard<std::mutex> lock(mu);
    ran.push_back("first");
  });
  s.Every("second", 20ms, [&] {
    std::lock_guard<std::mutex> lock(mu);
    ran.push_back("second");
  });
  s.Every("slow", 10s, [&] { slow++; });
  s.Start();
  for (int i = 0; i < 200; i++) {  // at most 2 s
    std::this_thread::sleep_for(10ms);
    std::lock_guard<std::mutex> lock(mu);
    if (ran.size() >= 6) break;
  }
  s.Stop();
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(ran.size() >= 6);
  for (size_t i = 0; i + 1 < ran.size(); i += 2) {
    CHECK(ran[i] == "first");
    CHECK(ran[i + 1] == "second");
  }
  CHECK(slow == 0);  // its period has not come yet
}

TEST_CASE("after Stop no job runs again, and Stop twice is harmless", "[scheduler]") {
  std::atomic<int> runs{0};
  Scheduler s;
  s.Every("count", 5ms, [&] { runs++; });
  s.Start();
  for (int i = 0; i < 200 && runs < 2; i++) std::this_thread::sleep_for(5ms);
  s.Stop();
  int at_stop = runs;
  std::this_thread::sleep_for(50ms);
  CHECK(at_stop >= 2);
  CHECK(runs == at_stop);
  s.Stop();
}
