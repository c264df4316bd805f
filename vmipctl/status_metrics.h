// The daemon's metrics in `vmipctl status`: the same samples /metrics serves, as a
// table for a person (or a list in --json).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "vmip.pb.h"

namespace vmip {

nlohmann::json MetricsJson(const v1::DaemonStatusReply& reply);
// Nothing when the daemon sent none (an older daemon).
void PrintMetrics(const v1::DaemonStatusReply& reply, std::ostream& out);

}  // namespace vmip
