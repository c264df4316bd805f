// The one duration parser of the daemon's flags and the plugin's ipam.detachedTTL.
#include "duration.h"

#include <catch2/catch.hpp>

using vmip::FormatDuration;
using vmip::ParseDuration;

TEST_CASE("durations: a bare number is seconds and s m h d are units") {
  CHECK(ParseDuration("0").seconds == 0);
  CHECK(ParseDuration("90").seconds == 90);
  CHECK(ParseDuration("90s").seconds == 90);
  CHECK(ParseDuration("15m").seconds == 900);
  CHECK(ParseDuration("12h").seconds == 43200);
  CHECK(ParseDuration("90d").seconds == 7776000);
  CHECK(ParseDuration("36500d").seconds == 36500LL * 86400);
}

TEST_CASE("durations: anything else is refused with a message quoting it") {
  for (const char* bad : {"", "s", "-5", "1.5h", "1h30m", "10 m", " 10", "10w", "10ms", "1e3",
                          "99999999999999999999", "36501d"}) {
    auto d = ParseDuration(bad);
    INFO(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error.find(std::string("\"") + bad) != std::string::npos);
  }
}

TEST_CASE("durations: printed in the largest exact unit and read back the same") {
  CHECK(FormatDuration(7776000) == "90d");
  CHECK(FormatDuration(7200) == "2h");
  CHECK(FormatDuration(90) == "90s");
  CHECK(FormatDuration(0) == "0s");
  for (int64_t s : {1, 59, 60, 3601, 86400, 90061})
    CHECK(ParseDuration(FormatDuration(s)).seconds == s);
}
