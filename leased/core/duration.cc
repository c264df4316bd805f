#include "duration.h"

namespace vmip {

int64_t ParseDuration(const std::string& text) {
  size_t digits = text.find_first_not_of("0123456789");
  if (text.empty() || digits == 0 || text.size() > 12) return -1;
  int64_t n = std::stoll(text.substr(0, digits));
  std::string unit = digits == std::string::npos ? "" : text.substr(digits);
  if (unit.empty() || unit == "s") return n;
  if (unit == "m") return n * 60;
  if (unit == "h") return n * 3600;
  if (unit == "d") return n * 86400;
  return -1;
}

}  // namespace vmip
