// Starts the daemon's metrics endpoint (--metrics-address): /metrics from the
// daemon's registry, /readyz from the lease service's own readiness check.
#pragma once

#include <memory>

#include "daemon_metrics.h"
#include "lease_service.h"
#include "metrics_server.h"

namespace vmip {

Result<std::unique_ptr<metrics::MetricsServer>> StartMetricsEndpoint(
    const metrics::HostPort& at, const DaemonMetrics& daemon_metrics, LeaseService* service);

}  // namespace vmip
