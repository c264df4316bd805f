#include "metrics_status.h"

#include "exposition.h"
#include "value_text.h"

namespace vmip {

void AddMetricsToStatus(const metrics::Registry& registry, v1::DaemonStatusReply* reply) {
  for (const metrics::FamilySnapshot& f : registry.Collect())
    for (const metrics::Sample& s : f.samples) {
      if (f.type == "histogram" && s.name == f.name + "_bucket") continue;
      v1::MetricSample* out = reply->add_metrics();
      out->set_name(s.name);
      std::string labels;
      for (const auto& [k, v] : s.labels)
        labels += (labels.empty() ? "" : ",") + k + "=\"" + metrics::EscapeLabelValue(v) + "\"";
      out->set_labels(labels);
      out->set_value(s.value);
    }
}

}  // namespace vmip
