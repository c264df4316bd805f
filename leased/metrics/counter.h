// A monotonic count. Recording is one relaxed atomic add: no lock, ever.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "sample.h"

namespace vmip::metrics {

class Counter {
 public:
  static constexpr const char* kType = "counter";
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }
  void Collect(const std::string& name, const Labels& labels, std::vector<Sample>* out) const {
    out->push_back(Sample{name, labels, static_cast<double>(Value())});
  }

 private:
  std::atomic<uint64_t> value_{0};
};

}  // namespace vmip::metrics
