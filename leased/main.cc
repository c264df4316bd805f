// vmip-leased: the node daemon. Opens the lease database, replays spooled DELs,
// then serves the plugin and vmipctl on a unix socket until SIGTERM.
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "cluster_store_coordinator.h"
#include "daemon_endpoint.h"
#include "decision_log.h"
#include "duration.h"
#include "etcd_cluster_store.h"
#include "etcd_gone_owner_board.h"
#include "grpc_services.h"
#include "kube_mode.h"
#include "leader_election.h"
#include "lease_service.h"
#include "lease_store.h"
#include "peer_service.h"
#include "scheduler.h"
#include "spool_replay.h"
#include "tls_files.h"

namespace {

struct Options {
  std::string socket = "/run/vmip/leased.sock";
  std::string db = "/var/lib/vmip/leases.db";
  std::string spool_dir = "/var/lib/vmip/spool";
  std::string node;
  std::string log_level = "info";
  std::string cluster;  // "" (standalone) or "etcd"
  std::vector<std::string> etcd_endpoints;
  std::string peer_address;
  int64_t etcd_lease_ttl = 10;
  int64_t reuse_cooldown = 0;
  std::string detached_ttl = "0";  // never
  std::string history_retention = "90d";
  std::string metrics_address;  // "" (off) or HOST:PORT
  vmip::TlsFiles tls;
  bool kubernetes = false;
  std::string kubeconfig;
  std::string release_grace = "5m";
  int watch_timeout = 300;
};

int Fail(const std::string& msg) {
  fprintf(stderr, "vmip-leased: %s\n", msg.c_str());
  return 1;
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// mkdir -p with mode 0700 for the parts we create.
bool MakeDirs(const std::string& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return true;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  if (!MakeDirs(Dirname(dir))) return false;
  return mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST;
}

bool SocketIsLive(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  bool live = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return live;
}

std::string Hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Holds an exclusive lock on "<db>.lock" so two daemons never share a database.
bool LockDatabase(const std::string& db) {
  int fd = open((db + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;  // fd stays open for our lifetime
}

// Kubernetes mode in cluster mode: one daemon, elected through etcd, judges which
// owners are gone; every node releases its own leases on those verdicts.
struct ClusterReleaser {
  vmip::LeaderElection election;
  vmip::EtcdGoneOwnerBoard board;
  // The leader stops judging a quarter of its lease TTL (at least 1 s) before the
  // lease could expire at etcd without a keep-alive.
  ClusterReleaser(vmip::EtcdClient* etcd, const Options& o, vmip::LeaseService* service)
      : election(etcd, vmip::KubeLeaderKey(), o.node,
                 std::max<int64_t>(1000, o.etcd_lease_ttl * 250)),
        board(etcd, &election, service) {}
};

// The releaser when both --kubernetes and cluster mode are on, else null.
std::unique_ptr<ClusterReleaser> ClusterReleaserFor(const Options& o,
                                                    vmip::EtcdClusterStore* cluster,
                                                    vmip::LeaseService* service) {
  if (!cluster || !o.kubernetes) return nullptr;
  return std::make_unique<ClusterReleaser>(cluster->etcd(), o, service);
}

// The daemon's background jobs. Once a second: DELs the plugin spooled while the daemon
// was busy or could not commit and (cluster mode) queued etcd changes. What other
// nodes bind and free arrives by the cluster store's watch instead.
void ScheduleJobs(const Options& o, vmip::LeaseService& service,
                  vmip::ClusterCoordinator* coordinator, vmip::DaemonMetrics* metrics,
                  ClusterReleaser* releaser, vmip::Scheduler* jobs) {
  jobs->Every("spool-replay", std::chrono::seconds(1), [&o, &service, metrics] {
    metrics->SpoolReplayed(vmip::ReplaySpool(o.spool_dir, service, /*quiet=*/true));
  });
  if (coordinator)
    jobs->Every("cluster-flush", std::chrono::seconds(1), [coordinator] { coordinator->Flush(); });
  // Lease policies (issue 16): detached bindings past their TTL, old history.
  jobs->Every("detached-expiry", std::chrono::seconds(1), [&service] { service.ExpireDetached(); });
  jobs->Every("history-retention", std::chrono::seconds(1), [&service] { service.PruneHistory(); });
  if (!releaser) return;
  jobs->Every("kube-election", std::chrono::seconds(1),
              [releaser] { releaser->election.Campaign(); });
  jobs->Every("kube-verdicts", std::chrono::seconds(1), [releaser] { releaser->board.Follow(); });
}

// Kubernetes mode (--kubernetes): the holder keeps it running until Serve returns.
// In cluster mode deleted owners are judged by the elected daemon (releaser).
vmip::Result<std::shared_ptr<void>> StartKubernetes(const Options& o, vmip::LeaseService& service,
                                                    ClusterReleaser* releaser,
                                                    vmip::DaemonFacts* facts,
                                                    vmip::DaemonMetrics* metrics) {
  if (!o.kubernetes) return std::shared_ptr<void>();
  vmip::KubeOptions ko;
  ko.kubeconfig = o.kubeconfig;
  ko.release_grace_seconds = vmip::ParseDuration(o.release_grace).seconds;  // checked at parse
  ko.watch_timeout_seconds = o.watch_timeout;
  ko.hooks.started = [metrics](const std::string& r) { metrics->KubernetesWatching(r); };
  ko.hooks.watch_restarted = [metrics](const std::string& r, vmip::WatchRestart why) {
    metrics->KubernetesWatchRestarted(r, vmip::WatchRestartName(why));
  };
  ko.hooks.synced = [metrics](const std::string& r, int64_t t) { metrics->KubernetesSynced(r, t); };
  ko.hooks.list_failed = [metrics](const std::string& r) { metrics->KubernetesListFailed(r); };
  ko.board = releaser ? &releaser->board : nullptr;
  auto started = vmip::KubeMode::Start(ko, &service);
  if (!started.ok()) return started.error();
  std::shared_ptr<vmip::KubeMode> kube = std::move(started.value());
  facts->add_status = [k = kube.get()](vmip::v1::DaemonStatusReply* r) { k->AddStatus(r); };
  return std::shared_ptr<void>(kube);
}

// The metrics endpoint when --metrics-address is set (nullptr when it is not).
vmip::Result<std::unique_ptr<vmip::metrics::MetricsServer>> ServeMetrics(
    const Options& o, const vmip::DaemonMetrics& metrics, vmip::LeaseService* service) {
  if (o.metrics_address.empty()) return std::unique_ptr<vmip::metrics::MetricsServer>();
  auto at = vmip::metrics::ParseHostPort(o.metrics_address);  // the flag checked it
  if (!at.ok()) return at.error();
  return vmip::StartMetricsEndpoint(at.value(), metrics, service);
}

// SIGTERM and SIGINT are blocked in every thread (main); this takes the first one.
int WaitForStopSignal() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  int sig = 0;
  sigwait(&sigs, &sig);
  return sig;
}

// The etcd client's settings from the flags; every etcd call is timed into metrics.
vmip::EtcdOptions EtcdOptionsFor(const Options& o, const vmip::TlsMaterial& tls,
                                 vmip::DaemonMetrics& metrics) {
  vmip::EtcdOptions eo;
  eo.tls = tls;
  eo.endpoints = o.etcd_endpoints;
  eo.lease_ttl_seconds = o.etcd_lease_ttl;
  eo.on_call = [&metrics](const char* op, double s, bool ok) { metrics.RecordEtcd(op, s, ok); };
  return eo;
}

int Serve(const Options& o) {
  for (const std::string& dir : {Dirname(o.socket), Dirname(o.db), o.spool_dir})
    if (!MakeDirs(dir)) return Fail("cannot create directory " + dir + ": " + strerror(errno));
  // Before anything else: a daemon already serving this socket owns the spool too, and
  // replaying its records into another database would lose those DELs for it.
  if (SocketIsLive(o.socket)) return Fail("another daemon is serving " + o.socket);
  if (!LockDatabase(o.db)) return Fail("database " + o.db + " is in use by another vmip-leased");
  auto store = vmip::LeaseStore::Open(o.db);
  if (!store.ok()) return Fail(store.error().msg);
  // Views read on a connection of their own, outside the service lock (lease_service.h).
  auto reader = vmip::LeaseStore::OpenReader(o.db);
  if (!reader.ok()) return Fail(reader.error().msg);
  vmip::LeaseService service(store.value().get(), o.node, [] { return int64_t(time(nullptr)); });
  service.SetViewReader(reader.value().get());
  service.SetReuseCooldown(o.reuse_cooldown);
  service.SetDetachedTtl(vmip::ParseDuration(o.detached_ttl).seconds);  // checked at parse
  service.SetHistoryRetention(vmip::ParseDuration(o.history_retention).seconds);
  vmip::DaemonMetrics metrics;
  metrics.Observe(&service, o.spool_dir);
  if (vmip::Error e = service.Load(); e.code) return Fail("cannot load leases: " + e.msg);
  // Declared before the store: the store's watch thread calls the coordinator, so
  // the store stops first.
  std::unique_ptr<vmip::ClusterStoreCoordinator> coordinator;
  std::unique_ptr<vmip::EtcdClusterStore> cluster;
  std::unique_ptr<vmip::PeerDirectory> peers;
  std::shared_ptr<grpc::ServerCredentials> peer_credentials;
  if (o.cluster == "etcd") {
    auto tls = vmip::LoadTls(o.tls);
    if (!tls.ok()) return Fail(tls.error().msg);
    auto started = vmip::EtcdClusterStore::Start(EtcdOptionsFor(o, tls.value(), metrics), o.node,
                                                 o.peer_address);
    if (!started.ok()) return Fail("cluster mode: " + started.error().msg);
    cluster = std::move(started.value());
    peers = std::make_unique<vmip::PeerDirectory>(cluster.get(), o.node, tls.value());
    peer_credentials = vmip::ServerCredentials(tls.value());
    coordinator =
        std::make_unique<vmip::ClusterStoreCoordinator>(&service, cluster.get(), peers.get());
    service.SetCoordinator(coordinator.get());
    coordinator->Watch();
  }
  auto releaser = ClusterReleaserFor(o, cluster.get(), &service);  // outlives kube and jobs
  vmip::DaemonFacts facts{o.db, o.spool_dir, 0, nullptr};
  auto kube = StartKubernetes(o, service, releaser.get(), &facts, &metrics);
  if (!kube.ok()) return Fail("kubernetes mode: " + kube.error().msg);
  facts.spool_replayed = vmip::ReplaySpool(o.spool_dir, service);
  metrics.SpoolReplayed(facts.spool_replayed);
  vmip::Scheduler jobs;
  ScheduleJobs(o, service, coordinator.get(), &metrics, releaser.get(), &jobs);
  jobs.Start();

  unlink(o.socket.c_str());
  vmip::CniService cni(&service, &metrics);
  vmip::AdminService admin(&service, facts, peers.get(), &metrics);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + o.socket, grpc::InsecureServerCredentials());
  builder.RegisterService(&cni);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) return Fail("cannot listen on " + o.socket);
  vmip::PeerService peer(&service, coordinator.get(), &metrics);
  std::unique_ptr<grpc::Server> peer_server;
  if (cluster && !o.peer_address.empty()) {
    grpc::ServerBuilder pb;
    pb.AddListeningPort(o.peer_address, peer_credentials);
    pb.RegisterService(&peer);
    peer_server = pb.BuildAndStart();
    if (!peer_server) return Fail("cannot listen on --peer-address " + o.peer_address);
  }
  auto metrics_server = ServeMetrics(o, metrics, &service);
  if (!metrics_server.ok()) return Fail(metrics_server.error().msg);
  chmod(o.socket.c_str(), 0600);
  vmip::Log(vmip::LogLevel::kInfo,
            "op=start socket=" + o.socket + " db=" + o.db + " node=" + o.node +
                " schema=" + std::to_string(store.value()->schema_version()));

  int sig = WaitForStopSignal();
  vmip::Log(vmip::LogLevel::kInfo, std::string("op=stop signal=") + strsignal(sig));
  if (peer_server)
    peer_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  unlink(o.socket.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before gRPC starts threads, so only sigwait sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  // gRPC's locks are absl::Mutex, and Debian's absl checks their lock order on every
  // acquisition (GraphCycles: 3-5% of the daemon's CPU per request under perf).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Everything the daemon creates (database, socket, spool) is for root alone.
  umask(077);
  Options o;
  o.node = Hostname();
  CLI::App app{
      "vmip-leased: the vmip node daemon. Keeps the lease table of VM and pod\n"
      "addresses in SQLite and answers the vmip CNI plugin and vmipctl on a unix socket."};
  app.add_option("--socket", o.socket, "unix socket to serve on (mode 0600)")
      ->capture_default_str();
  app.add_option("--db", o.db, "SQLite lease database")->capture_default_str();
  app.add_option("--spool-dir", o.spool_dir,
                 "DEL records spooled by the plugin while the daemon was down")
      ->capture_default_str();
  app.add_option("--node-name", o.node, "this node's name (default: the hostname)");
  app.add_option("--log-level", o.log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--reuse-cooldown", o.reuse_cooldown,
                 "seconds a released address is never handed out again, even when the pool "
                 "has nothing else (oldest-released-first reuse applies anyway)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86400 * 7}));
  // A bad duration is a usage error that names the flag (CLI11 prefixes it).
  CLI::Validator duration([](std::string& text) { return vmip::ParseDuration(text).error; },
                          "DURATION");
  app.add_option("--detached-ttl", o.detached_ttl,
                 "release a VM binding detached this long (90s, 15m, 12h, 7d; 0 = never); "
                 "a network's ipam.detachedTTL wins")
      ->capture_default_str()
      ->check(duration);
  app.add_option("--history-retention", o.history_retention,
                 "delete history events older than this (0 = keep forever)")
      ->capture_default_str()
      ->check(duration);
  app.add_option("--cluster", o.cluster, "cluster store: etcd (default: standalone, SQLite only)")
      ->check(CLI::IsMember({"etcd"}));
  app.add_option("--etcd-endpoints", o.etcd_endpoints, "etcd client URLs, comma separated")
      ->delimiter(',');
  app.add_option("--peer-address", o.peer_address, "HOST:PORT this daemon advertises to its peers");
  app.add_option("--etcd-lease-ttl", o.etcd_lease_ttl,
                 "seconds before a silent node counts as gone")
      ->capture_default_str()
      ->check(CLI::Range(2, 300));
  app.add_option("--tls-ca", o.tls.ca, "CA certificate (PEM) for etcd and peer links (mutual TLS)");
  app.add_option("--tls-cert", o.tls.cert, "this node's certificate (PEM), for etcd and peers");
  app.add_option("--tls-key", o.tls.key, "this node's private key (PEM)");
  app.add_flag("--kubernetes", o.kubernetes,
               "read VM identity from the Kubernetes API and release deleted VMs (in cluster "
               "mode one daemon, elected through etcd, judges which are deleted)");
  app.add_option("--kubeconfig", o.kubeconfig,
                 "kubeconfig file for --kubernetes (default: the in-cluster service account)");
  app.add_option("--release-grace", o.release_grace,
                 "how long a VM stays deleted before its addresses are released (s, m, h, d)")
      ->capture_default_str()
      ->check(duration);
  app.add_option("--watch-timeout", o.watch_timeout,
                 "seconds each Kubernetes watch may last before it is renewed")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--metrics-address", o.metrics_address,
                 "HOST:PORT to serve /metrics, /healthz and /readyz on (default: off)")
      ->check([](const std::string& text) {
        auto parsed = vmip::metrics::ParseHostPort(text);
        return parsed.ok() ? std::string() : parsed.error().msg;
      });
  CLI11_PARSE(app, argc, argv);
  if (!o.cluster.empty() && o.etcd_endpoints.empty())
    return Fail("--cluster etcd needs --etcd-endpoints");
  vmip::LogLevel level;
  if (!vmip::ParseLogLevel(o.log_level, &level))
    return Fail("--log-level: unknown level " + o.log_level);
  vmip::SetLogLevel(level);
  return Serve(o);
}
