#include "status_metrics.h"

#include <cmath>
#include <cstdio>

#include "text_table.h"

namespace vmip {
namespace {

std::string ValueText(double v) {
  char buf[32];
  if (std::floor(v) == v && std::fabs(v) < 1e15)
    snprintf(buf, sizeof buf, "%.0f", v);
  else
    snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

nlohmann::json MetricsJson(const v1::DaemonStatusReply& reply) {
  nlohmann::json out = nlohmann::json::array();
  for (const v1::MetricSample& m : reply.metrics())
    out.push_back({{"name", m.name()}, {"labels", m.labels()}, {"value", m.value()}});
  return out;
}

void PrintMetrics(const v1::DaemonStatusReply& reply, std::ostream& out) {
  if (reply.metrics().empty()) return;
  TextTable t({"METRIC", "LABELS", "VALUE"});
  for (const v1::MetricSample& m : reply.metrics())
    t.Add({m.name(), m.labels().empty() ? "-" : m.labels(), ValueText(m.value())});
  out << "\n";
  t.Print(out);
}

}  // namespace vmip
