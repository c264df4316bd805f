// The metric samples `vmipctl status` shows: every counter and gauge, and of each
// histogram its _count and _sum (the buckets are for Prometheus).
#pragma once

#include "registry.h"
#include "vmip.pb.h"

namespace vmip {

void AddMetricsToStatus(const metrics::Registry& registry, v1::DaemonStatusReply* reply);

}  // namespace vmip
