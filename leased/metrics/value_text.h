// Numbers as the Prometheus text format writes them: "+Inf", "-Inf", "NaN", and
// otherwise the shortest decimal that reads back as the same double (0.00025, 12).
#pragma once

#include <string>

namespace vmip::metrics {

// max_digits caps the significant digits tried (17 always round-trips).
std::string FormatValue(double v, int max_digits = 17);

}  // namespace vmip::metrics
