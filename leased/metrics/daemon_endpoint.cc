#include "daemon_endpoint.h"

#include <algorithm>

namespace vmip {

Result<std::unique_ptr<metrics::MetricsServer>> StartMetricsEndpoint(
    const metrics::HostPort& at, const DaemonMetrics& daemon_metrics, LeaseService* service) {
  // Ready means what `vmipctl status --ready` checks: the database answers and, in
  // cluster mode, etcd answers a quorum read (made outside the service's lock).
  auto readiness = [service]() -> std::string {
    v1::DaemonStatusReply r = service->DaemonStatus(/*check_ready=*/true);
    if (!r.error().code()) return "";
    std::string reason = r.error().msg();
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    return reason;
  };
  return metrics::MetricsServer::Start(at, &daemon_metrics.registry(), readiness);
}

}  // namespace vmip
