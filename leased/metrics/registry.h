// The set of metric families a daemon exposes, in the order they were added, and
// hooks that refresh scrape-time gauges just before a snapshot is taken.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "counter.h"
#include "family.h"
#include "gauge.h"
#include "histogram.h"

namespace vmip::metrics {

class Registry {
 public:
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);

  // Runs on every Collect, before the snapshot (e.g. reading pool sizes).
  void AddScrapeHook(std::function<void()> hook);

  // Every family, hooks run first. Families are fixed once the daemon serves, so
  // this needs no lock of its own beyond each family's.
  std::vector<FamilySnapshot> Collect() const;

 private:
  template <typename T>
  Family<T>& Add(std::unique_ptr<Family<T>> f);

  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<std::function<void()>> hooks_;
  mutable std::mutex hooks_mu_;  // two scrapes at once run the hooks one after the other
};

}  // namespace vmip::metrics
