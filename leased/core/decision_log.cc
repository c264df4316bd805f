#include "decision_log.h"

#include <atomic>
#include <cstdio>
#include <ctime>

namespace vmip {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
const char* kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void SetLogLevel(LogLevel level) {
  g_level = static_cast<int>(level);
}

bool ParseLogLevel(const std::string& text, LogLevel* out) {
  for (int i = 0; i < 4; i++)
    if (text == kNames[i]) {
      *out = static_cast<LogLevel>(i);
      return true;
    }
  return false;
}

void Log(LogLevel level, const std::string& fields) {
  if (static_cast<int>(level) < g_level) return;
  char ts[32];
  std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  // One fprintf per line so concurrent lines do not interleave.
  std::fprintf(stderr, "ts=%s level=%s %s\n", ts, kNames[static_cast<int>(level)], fields.c_str());
}

}  // namespace vmip
