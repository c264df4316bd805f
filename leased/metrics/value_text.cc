#include "value_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vmip::metrics {

std::string FormatValue(double v, int max_digits) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  // Whole numbers (every counter) as integers, up to where doubles stop being exact.
  if (std::fabs(v) < 9007199254740992.0 && std::floor(v) == v) {
    snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int digits = 1; digits <= max_digits; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (digits == max_digits || std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace vmip::metrics
