// The metric families vmip-leased exposes (the names are a contract, see README
// "Metrics") and the calls that record them. Recording is atomics plus, for a label
// combination seen for the first time, a family's own small mutex: never the lease
// service's lock. Values read from the service (pool sizes) are read at scrape time.
#pragma once

#include <cstdint>
#include <string>

#include "registry.h"
#include "release_observer.h"

namespace vmip {

class LeaseService;

class DaemonMetrics final : public ReleaseObserver {
 public:
  enum class Command { kAdd, kDel, kCheck, kGc, kStatus };
  static constexpr int kCommands = 5;

  DaemonMetrics();

  const metrics::Registry& registry() const { return registry_; }

  // One answered CNI call: code 0 is "ok", anything else its CNI error code.
  void RecordCni(Command command, unsigned code, double seconds);
  void LeasesReleased(const std::string& network, ReleaseReason reason, uint64_t leases) override;
  void SpoolReplayed(uint64_t records) { spool_replayed_.Inc(records); }
  // Cluster mode: one etcd call (failover included) and one call a peer made here.
  void RecordEtcd(const std::string& op, double seconds, bool ok);
  void RecordPeer(const std::string& method, unsigned code);
  // Kubernetes mode: a watch on `resource` started over; a full sync of it succeeded.
  void KubernetesWatchRestarted(const std::string& resource);
  void KubernetesSynced(const std::string& resource, int64_t unix_seconds);

  // Scrape-time sources: pool gauges from the service (a short read under its lock,
  // never on an ADD's path) and the number of DEL records waiting in the spool.
  void WatchPools(LeaseService* service);
  void WatchSpool(const std::string& spool_dir);
  // All of the daemon's: the two above, and the service's releases.
  void Observe(LeaseService* service, const std::string& spool_dir);

 private:
  metrics::Registry registry_;
  metrics::Family<metrics::Counter>& cni_requests_;
  metrics::Family<metrics::Histogram>& cni_duration_;
  metrics::Family<metrics::Gauge>& pool_size_;
  metrics::Family<metrics::Gauge>& pool_allocated_;
  metrics::Family<metrics::Gauge>& pool_free_;
  metrics::Family<metrics::Counter>& released_;
  metrics::Family<metrics::Gauge>& spool_pending_;
  metrics::Counter& spool_replayed_;
  metrics::Family<metrics::Histogram>& etcd_duration_;
  metrics::Family<metrics::Counter>& etcd_errors_;
  metrics::Family<metrics::Counter>& peer_requests_;
  metrics::Family<metrics::Counter>& watch_restarts_;
  metrics::Family<metrics::Gauge>& last_sync_;
  // The hot path's children, found once: an ADD that succeeds touches no map.
  metrics::Counter* cni_ok_[kCommands];
  metrics::Histogram* cni_seconds_[kCommands];
};

const char* CommandName(DaemonMetrics::Command command);

}  // namespace vmip
