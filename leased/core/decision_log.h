// One structured line per decision on stderr: "level=info op=add network=n1 ...".
#pragma once

#include <string>

namespace vmip {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
bool ParseLogLevel(const std::string& text, LogLevel* out);
void Log(LogLevel level, const std::string& fields);
// " key=value" for a log line; an empty value shows as "".
inline std::string Field(const std::string& key, const std::string& value) {
  return " " + key + "=" + (value.empty() ? "\"\"" : value);
}

}  // namespace vmip
