// Histograms: le is "less or equal", buckets are cumulative and end with +Inf, and
// _count always equals the +Inf bucket.
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "exposition.h"
#include "registry.h"

using namespace vmip::metrics;

TEST_CASE("the CNI buckets run from 0.25 ms to 2.5 s in 1-2.5-5 steps") {
  std::vector<double> want = {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,    0.1,    0.25,  0.5,    1,     2.5};
  CHECK(DecadeBounds(0.00025, 2.5) == want);
}

TEST_CASE("a value on a bound counts in that bound's bucket, and buckets add up") {
  Registry r;
  Histogram& h =
      r.AddHistogram("t_seconds", "Durations.", {"command"}, {0.001, 0.01, 0.1}).With({"ADD"});
  for (double v : {0.0005, 0.001, 0.002, 0.01, 0.5, 3.0}) h.Observe(v);
  CHECK(h.Count() == 6);
  CHECK(h.Sum() == Approx(3.5135));
  std::string text = RenderText(r.Collect());
  CHECK(text ==
        "# HELP t_seconds Durations.\n"
        "# TYPE t_seconds histogram\n"
        "t_seconds_bucket{command=\"ADD\",le=\"0.001\"} 2\n"
        "t_seconds_bucket{command=\"ADD\",le=\"0.01\"} 4\n"
        "t_seconds_bucket{command=\"ADD\",le=\"0.1\"} 4\n"
        "t_seconds_bucket{command=\"ADD\",le=\"+Inf\"} 6\n"
        "t_seconds_sum{command=\"ADD\"} 3.5135\n"
        "t_seconds_count{command=\"ADD\"} 6\n");
}

TEST_CASE("recording from many threads loses nothing") {
  Registry r;
  auto& family = r.AddHistogram("t_par", "Parallel.", {"op"}, {1, 2});
  Counter& c = r.AddCounter("t_par_total", "Parallel.").With({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; i++) {
        family.With({t % 2 ? "a" : "b"}).Observe(1.5);
        c.Inc();
      }
    });
  for (auto& t : threads) t.join();
  CHECK(c.Value() == 20000);
  CHECK(family.With({"a"}).Count() == 10000);
  CHECK(family.With({"b"}).Sum() == Approx(15000));
}
