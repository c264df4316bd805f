#include "histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "value_text.h"

namespace vmip::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); i++) counts_[i].store(0);
}

void Histogram::Observe(double v) {
  // Bucket i counts values in (bounds_[i-1], bounds_[i]]: le means "less or equal".
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  double old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

uint64_t Histogram::Count() const {
  uint64_t n = 0;
  for (size_t i = 0; i <= bounds_.size(); i++) n += counts_[i].load(std::memory_order_relaxed);
  return n;
}

void Histogram::Collect(const std::string& name, const Labels& labels,
                        std::vector<Sample>* out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); i++) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    Labels with_le = labels;
    double le = i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
    with_le.emplace_back("le", FormatValue(le));
    out->push_back(Sample{name + "_bucket", std::move(with_le), static_cast<double>(cumulative)});
  }
  out->push_back(Sample{name + "_sum", labels, Sum()});
  out->push_back(Sample{name + "_count", labels, static_cast<double>(cumulative)});
}

std::vector<double> DecadeBounds(double first, double last) {
  static const double kSteps[] = {1, 2.5, 5};
  std::vector<double> out;
  double decade = std::pow(10, std::floor(std::log10(first)));
  // Each bound is rounded to 12 significant digits so 0.1 * 2.5 prints as 0.25.
  auto tidy = [](double v) { return std::stod(FormatValue(v, 12)); };
  for (int guard = 0; guard < 40; guard++, decade *= 10)
    for (double step : kSteps) {
      double b = tidy(step * decade);
      if (b > last * (1 + 1e-9)) return out;
      if (b >= first * (1 - 1e-9)) out.push_back(b);
    }
  return out;
}

}  // namespace vmip::metrics
