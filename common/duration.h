// Durations as operators write them: "90" (seconds), "90s", "15m", "12h", "7d".
// One parser for the daemon's flags (--detached-ttl, --history-retention) and the
// plugin's ipam.detachedTTL, so both accept exactly the same text. Header-only: the
// statically linked plugin and the daemon libraries both include it. It returns its
// own small value, not error.h's Result: the plugin has its own error type, and
// both MakeError overloads in one file would be ambiguous.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace vmip {

// Longer than any sensible lease policy, short enough that seconds never overflow.
inline constexpr int64_t kMaxDurationSeconds = int64_t{100} * 365 * 86400;

struct Duration {
  int64_t seconds = 0;
  std::string error;  // empty when the text was a duration
  bool ok() const { return error.empty(); }
};

// Seconds, or an error that quotes the text (the caller names the flag or key).
// One number and at most one unit: "1h30m" is refused, not guessed.
inline Duration ParseDuration(const std::string& text) {
  auto bad = [&text](const std::string& why) {
    return Duration{0, "bad duration \"" + text.substr(0, 32) + "\": " + why +
                           " (use a number of seconds or a number with s, m, h or d, e.g. 90s, "
                           "15m, 12h, 7d)"};
  };
  size_t digits = 0;
  int64_t value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (value > kMaxDurationSeconds) return bad("too long");
    value = value * 10 + (text[digits] - '0');
    digits++;
  }
  if (digits == 0) return bad("it does not start with a number");
  int64_t unit = 1;
  if (digits < text.size()) {
    if (digits + 1 != text.size()) return bad("one unit at most, at the end");
    switch (text[digits]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return bad("unknown unit '" + text.substr(digits) + "'");
    }
  }
  if (value > kMaxDurationSeconds / unit) return bad("longer than 100 years");
  return Duration{value * unit, ""};
}

// The shortest exact text ParseDuration reads back: 7776000 -> "90d", 90 -> "90s".
inline std::string FormatDuration(int64_t seconds) {
  for (auto [unit, suffix] : {std::pair<int64_t, char>{86400, 'd'}, {3600, 'h'}, {60, 'm'}})
    if (seconds > 0 && seconds % unit == 0) return std::to_string(seconds / unit) + suffix;
  return std::to_string(seconds) + "s";
}

}  // namespace vmip
