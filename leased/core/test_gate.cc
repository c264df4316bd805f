#include "test_gate.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "decision_log.h"

namespace vmip {
namespace {

constexpr auto kMaxPause = std::chrono::seconds(30);
constexpr auto kPoll = std::chrono::milliseconds(10);

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

void PauseAtAddGate() {
  static const char* gate = getenv("VMIP_TEST_ADD_GATE");
  if (!gate || !*gate || !Exists(gate)) return;
  std::string reached = std::string(gate) + ".reached";
  if (FILE* f = fopen(reached.c_str(), "w")) fclose(f);
  Log(LogLevel::kInfo,
      std::string("op=test-gate msg=\"ADD paused before step 3 at ") + gate + "\"");
  auto until = std::chrono::steady_clock::now() + kMaxPause;
  while (Exists(gate) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(kPoll);
}

}  // namespace vmip
