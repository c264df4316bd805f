// A small etcd v3 client over etcd's own gRPC API: KV reads/writes/transactions,
// one liveness lease kept alive by a background thread, and one prefix watch.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "error.h"
#include "etcd_v3.grpc.pb.h"
#include "tls_files.h"

namespace vmip {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379"
  int64_t lease_ttl_seconds = 10;
  int call_timeout_ms = 1500;    // an ADD that cannot reach etcd fails with 11 inside 2 s
  int attempt_timeout_ms = 600;  // then the next endpoint is tried
  TlsMaterial tls;               // https:// endpoints need it
  // Told of every call (op "range", "txn", "put", "delete", "lease_grant",
  // "lease_keepalive"; failover included) for the metrics; may be empty.
  std::function<void(const char* op, double seconds, bool ok)> on_call;
};

class EtcdClient {
 public:
  // Called (from the keepalive thread) after a new lease replaced a lost one, so
  // the owner can put its lease-bound keys again.
  using LeaseRenewed = std::function<void(int64_t lease)>;

  static Result<std::unique_ptr<EtcdClient>> Connect(const EtcdOptions& options);
  ~EtcdClient();

  Result<etcdserverpb::RangeResponse> Range(const std::string& key, bool prefix);
  Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& req);
  Error Put(const std::string& key, const std::string& value, int64_t lease);
  Error Delete(const std::string& key);

  // Grants the liveness lease and keeps it alive until destruction.
  Error StartLease(LeaseRenewed on_renewed);
  int64_t lease() const { return lease_.load(); }
  // Until when (steady clock, ms) the liveness lease is surely alive: the send time of
  // the last grant or keep-alive etcd answered, plus the TTL it answered. etcd counts
  // from when it received the call, later than this, so the bound is conservative.
  int64_t lease_alive_until_ms() const { return lease_alive_until_ms_.load(); }
  static int64_t SteadyMs();

  // Streams every change under `prefix` to on_events (from a watch thread) until
  // destruction, failing over between members. on_start runs on that thread each
  // time the watch starts from "now" (first start, or after a compaction lost
  // events): the caller re-reads the state there.
  using WatchEvents = std::function<void(const etcdserverpb::WatchResponse&)>;
  void WatchPrefix(const std::string& prefix, std::function<void()> on_start,
                   WatchEvents on_events);

  static std::string PrefixEnd(const std::string& prefix);

 private:
  // One channel per member: a member that is partitioned or stopped costs one
  // attempt, then calls move on to the next member.
  struct Endpoint {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  };
  using CallFn = std::function<grpc::Status(Endpoint&, grpc::ClientContext*)>;

  explicit EtcdClient(const EtcdOptions& o) : options_(o) {}
  // Runs fn against the current member, failing over on UNAVAILABLE or a timeout,
  // within call_timeout_ms overall; op names the call for options_.on_call.
  grpc::Status Call(const char* op, const CallFn& fn);
  grpc::Status CallAnyMember(const CallFn& fn);
  Error Failed(const std::string& what, const grpc::Status& s) const;
  Result<int64_t> Grant();
  // Replaces the liveness lease if it is still `dead` (else another thread already
  // did) and lets the owner re-put its keys; returns the lease now in force.
  Result<int64_t> ReplaceLease(int64_t dead);
  void KeepAliveLoop();
  bool KeepAliveOnce(int64_t id);
  // One watch stream on one member, from revision *next on; false when stopping.
  bool WatchOnce(Endpoint& ep, const std::string& prefix, int64_t* next,
                 const std::function<void()>& on_start, const WatchEvents& on_events);

  EtcdOptions options_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> current_{0};
  std::atomic<int64_t> lease_{0};
  std::atomic<int64_t> lease_alive_until_ms_{0};
  LeaseRenewed on_renewed_;
  std::mutex renew_mu_;  // one lease replacement at a time
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread keepalive_;
  grpc::ClientContext* watch_ctx_ = nullptr;  // the open watch stream, under mu_
  std::thread watcher_;
};

}  // namespace vmip
