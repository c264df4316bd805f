// Times as vmipctl prints them for people: UTC, to the second.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace vmip {

inline std::string TimeText(int64_t t) {
  char buf[32];
  std::time_t tt = t;
  std::tm tm;
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace vmip
