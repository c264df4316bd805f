// What a scrape reads: every family with its samples, taken at one moment. The
// Prometheus exposition and `vmipctl status` are both rendered from this.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vmip::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;  // name, value

struct Sample {
  std::string name;  // the family name plus a suffix (_bucket, _sum, _count) or not
  Labels labels;
  double value = 0;
};

struct FamilySnapshot {
  std::string name, help, type;  // type: counter, gauge or histogram
  std::vector<Sample> samples;
};

}  // namespace vmip::metrics
