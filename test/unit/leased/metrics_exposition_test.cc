// The Prometheus text exposition: HELP/TYPE lines, label and help escaping, number
// text, and the --metrics-address parser.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "exposition.h"
#include "metrics_server.h"
#include "registry.h"
#include "value_text.h"

using namespace vmip::metrics;

TEST_CASE("exposition writes HELP and TYPE, then one line per series") {
  Registry r;
  auto& requests = r.AddCounter("t_requests_total", "Calls.", {"command", "result"});
  requests.With({"ADD", "ok"}).Inc(3);
  requests.With({"ADD", "11"}).Inc();
  r.AddGauge("t_up", "Plain gauge.").With({}).Set(1.5);
  std::string text = RenderText(r.Collect());
  CHECK(text ==
        "# HELP t_requests_total Calls.\n"
        "# TYPE t_requests_total counter\n"
        "t_requests_total{command=\"ADD\",result=\"11\"} 1\n"
        "t_requests_total{command=\"ADD\",result=\"ok\"} 3\n"
        "# HELP t_up Plain gauge.\n"
        "# TYPE t_up gauge\n"
        "t_up 1.5\n");
}

TEST_CASE("exposition escapes label values and help text as the format says") {
  Registry r;
  r.AddGauge("t_g", "back\\slash and\nnewline \"quoted\"", {"network"}).With({"a\"b\\c\nd"}).Set(2);
  std::string text = RenderText(r.Collect());
  // HELP escapes backslash and newline only; label values also the double quote.
  CHECK(text ==
        "# HELP t_g back\\\\slash and\\nnewline \"quoted\"\n"
        "# TYPE t_g gauge\n"
        "t_g{network=\"a\\\"b\\\\c\\nd\"} 2\n");
}

TEST_CASE("a family with no series still announces itself") {
  Registry r;
  r.AddCounter("t_none_total", "Nothing yet.", {"op"});
  CHECK(RenderText(r.Collect()) ==
        "# HELP t_none_total Nothing yet.\n# TYPE t_none_total counter\n");
}

TEST_CASE("numbers are written in their shortest exact form") {
  CHECK(FormatValue(0) == "0");
  CHECK(FormatValue(12) == "12");
  CHECK(FormatValue(0.00025) == "0.00025");
  CHECK(FormatValue(0.1 + 0.2) == "0.30000000000000004");
  CHECK(FormatValue(1764553070) == "1764553070");
  CHECK(FormatValue(-3) == "-3");
  CHECK(FormatValue(1e20) == "1e+20");  // past 2^53 in the shortest form, as Go writes it
  CHECK(FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(FormatValue(std::nan("")) == "NaN");
}

TEST_CASE("scrape hooks run before every snapshot") {
  Registry r;
  Gauge& g = r.AddGauge("t_hooked", "Set at scrape time.").With({});
  int runs = 0;
  r.AddScrapeHook([&] { g.Set(++runs); });
  r.Collect();
  CHECK(RenderText(r.Collect()).find("t_hooked 2\n") != std::string::npos);
}

TEST_CASE("the metrics address is HOST:PORT or a bracketed IPv6 address and port, nothing else") {
  auto ok = ParseHostPort("127.0.0.1:9102");
  REQUIRE(ok.ok());
  CHECK(ok.value().host == "127.0.0.1");
  CHECK(ok.value().port == 9102);
  auto v6 = ParseHostPort("[::1]:80");
  REQUIRE(v6.ok());
  CHECK(v6.value().host == "::1");
  for (const char* bad : {"", "9102", ":9102", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:http", "::1:80", "127.0.0.1:-1"}) {
    INFO(bad);
    auto r = ParseHostPort(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().msg.find("HOST:PORT") != std::string::npos);
  }
}
