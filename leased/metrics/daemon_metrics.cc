#include "daemon_metrics.h"

#include <dirent.h>

#include <ctime>

#include "lease_service.h"

namespace vmip {
namespace {

using metrics::DecadeBounds;

const char* kStates[] = {"attached", "detached", "reserved"};

uint64_t CountSpoolRecords(const std::string& dir) {
  uint64_t n = 0;
  DIR* d = opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    n += name.size() > 3 && name.compare(name.size() - 3, 3, ".pb") == 0;
  }
  closedir(d);
  return n;
}

}  // namespace

const char* CommandName(DaemonMetrics::Command command) {
  static const char* kNames[] = {"ADD", "DEL", "CHECK", "GC", "STATUS"};
  return kNames[static_cast<int>(command)];
}

DaemonMetrics::DaemonMetrics()
    : cni_requests_(registry_.AddCounter("vmip_cni_requests_total",
                                         "CNI calls answered, by command and result (ok or the "
                                         "CNI error code).",
                                         {"command", "result"})),
      cni_duration_(registry_.AddHistogram("vmip_cni_request_duration_seconds",
                                           "Time the daemon took to answer a CNI call.",
                                           {"command"}, DecadeBounds(0.00025, 2.5))),
      pool_size_(registry_.AddGauge("vmip_pool_addresses",
                                    "Leases a pool can hold (one address per range set each).",
                                    {"network"})),
      pool_allocated_(registry_.AddGauge(
          "vmip_pool_addresses_allocated",
          "Leases bound in a pool, by state: attached, detached (a VM's, no pod) or reserved.",
          {"network", "state"})),
      pool_free_(registry_.AddGauge("vmip_pool_addresses_free", "Leases a pool can still hand out.",
                                    {"network"})),
      released_(registry_.AddCounter("vmip_leases_released_total",
                                     "Leases whose addresses went back to the pool, by reason.",
                                     {"network", "reason"})),
      spool_pending_(registry_.AddGauge("vmip_spool_pending",
                                        "DEL records spooled by the plugin, not yet replayed.")),
      spool_replayed_(
          registry_
              .AddCounter("vmip_spool_replayed_total", "Spooled DEL records the daemon applied.")
              .With({})),
      etcd_duration_(registry_.AddHistogram("vmip_etcd_request_duration_seconds",
                                            "etcd calls (cluster mode), failover included.", {"op"},
                                            DecadeBounds(0.00025, 2.5))),
      etcd_errors_(registry_.AddCounter("vmip_etcd_errors_total",
                                        "etcd calls that failed (cluster mode).", {"op"})),
      peer_requests_(registry_.AddCounter("vmip_peer_requests_total",
                                          "Calls other daemons made to this one (cluster mode).",
                                          {"method", "result"})),
      watch_restarts_(registry_.AddCounter("vmip_kubernetes_watch_restarts_total",
                                           "Kubernetes watches started over (Kubernetes mode).",
                                           {"resource"})),
      last_sync_(registry_.AddGauge(
          "vmip_kubernetes_last_sync_timestamp_seconds",
          "Unix time of the last successful sync of a resource (Kubernetes mode).", {"resource"})) {
  registry_.AddGauge("vmip_build_info", "The running vmip version; always 1.", {"version"})
      .With({VMIP_VERSION})
      .Set(1);
  registry_.AddGauge("process_start_time_seconds", "Unix time the daemon started.")
      .With({})
      .Set(static_cast<double>(time(nullptr)));
  for (int i = 0; i < kCommands; i++) {
    std::string name = CommandName(static_cast<Command>(i));
    cni_ok_[i] = &cni_requests_.With({name, "ok"});
    cni_seconds_[i] = &cni_duration_.With({name});
  }
}

void DaemonMetrics::RecordCni(Command command, unsigned code, double seconds) {
  int i = static_cast<int>(command);
  if (code == 0)
    cni_ok_[i]->Inc();
  else
    cni_requests_.With({CommandName(command), std::to_string(code)}).Inc();
  cni_seconds_[i]->Observe(seconds);
}

void DaemonMetrics::LeasesReleased(const std::string& network, ReleaseReason reason,
                                   uint64_t leases) {
  released_.With({network, ReleaseReasonName(reason)}).Inc(leases);
}

void DaemonMetrics::RecordEtcd(const std::string& op, double seconds, bool ok) {
  etcd_duration_.With({op}).Observe(seconds);
  if (!ok) etcd_errors_.With({op}).Inc();
}

void DaemonMetrics::RecordPeer(const std::string& method, unsigned code) {
  peer_requests_.With({method, code ? std::to_string(code) : "ok"}).Inc();
}

void DaemonMetrics::KubernetesWatchRestarted(const std::string& resource) {
  watch_restarts_.With({resource}).Inc();
}

void DaemonMetrics::KubernetesSynced(const std::string& resource, int64_t unix_seconds) {
  last_sync_.With({resource}).Set(static_cast<double>(unix_seconds));
}

void DaemonMetrics::WatchPools(LeaseService* service) {
  registry_.AddScrapeHook([this, service] {
    v1::ListPoolsReply pools = service->ListPools();
    auto counts = service->CountLeasesByState();
    pool_size_.Clear();
    pool_free_.Clear();
    pool_allocated_.Clear();
    for (const v1::PoolInfo& p : pools.pools()) {
      pool_size_.With({p.network()}).Set(static_cast<double>(p.size()));
      pool_free_.With({p.network()}).Set(static_cast<double>(p.free()));
      // A failed read shows no allocation series rather than wrong zeros.
      if (counts.ok())
        for (const char* state : kStates) pool_allocated_.With({p.network(), state}).Set(0);
    }
    if (!counts.ok()) return;
    for (const LeaseCount& c : counts.value())
      pool_allocated_.With({c.network, c.state}).Set(static_cast<double>(c.leases));
  });
}

void DaemonMetrics::WatchSpool(const std::string& spool_dir) {
  metrics::Gauge& pending = spool_pending_.With({});
  registry_.AddScrapeHook(
      [&pending, spool_dir] { pending.Set(static_cast<double>(CountSpoolRecords(spool_dir))); });
}

void DaemonMetrics::Observe(LeaseService* service, const std::string& spool_dir) {
  service->SetReleaseObserver(this);
  WatchPools(service);
  WatchSpool(spool_dir);
}

}  // namespace vmip
