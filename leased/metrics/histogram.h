// A distribution over fixed upper bounds, as Prometheus histograms are: one atomic
// count per bucket (not cumulative while recording; summed up when collected) and
// an atomic sum. Recording takes no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sample.h"

namespace vmip::metrics {

class Histogram {
 public:
  static constexpr const char* kType = "histogram";
  // bounds: strictly increasing upper bounds; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double v);
  // _bucket{le=...} (cumulative, ending with +Inf), _sum and _count. _count is the
  // +Inf bucket, so the two always agree even while others record.
  void Collect(const std::string& name, const Labels& labels, std::vector<Sample>* out) const;
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1 (the +Inf one)
  std::atomic<double> sum_{0};
};

// Upper bounds from `first` to at most `last`, in 1, 2.5, 5 steps per decade
// (0.00025, 0.0005, 0.001, 0.0025, ...).
std::vector<double> DecadeBounds(double first, double last);

}  // namespace vmip::metrics
