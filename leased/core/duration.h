// Durations as flags take them: "90s", "5m", "2h", "1d", or plain seconds.
#pragma once

#include <cstdint>
#include <string>

namespace vmip {

// Seconds, or -1 when the text is not such a duration.
int64_t ParseDuration(const std::string& text);

}  // namespace vmip
