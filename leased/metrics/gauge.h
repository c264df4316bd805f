// A value that goes up and down (pool sizes, spool backlog). Lock-free.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "sample.h"

namespace vmip::metrics {

class Gauge {
 public:
  static constexpr const char* kType = "gauge";
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) {
    double old = value_.load(std::memory_order_relaxed);
    while (!value_.compare_exchange_weak(old, old + d, std::memory_order_relaxed)) {
    }
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }
  void Collect(const std::string& name, const Labels& labels, std::vector<Sample>* out) const {
    out->push_back(Sample{name, labels, Value()});
  }

 private:
  std::atomic<double> value_{0};
};

}  // namespace vmip::metrics
