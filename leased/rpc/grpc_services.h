// gRPC adapters: they only move messages between the wire and LeaseService.
// Replies always return grpc::Status::OK; failures travel as Error values.
#pragma once

#include <functional>
#include <string>

#include "daemon_metrics.h"
#include "lease_service.h"
#include "peer_directory.h"
#include "vmip.grpc.pb.h"

namespace vmip {

class CniService final : public v1::Cni::Service {
 public:
  // metrics: where each call's outcome and duration are recorded (nullptr: nowhere).
  explicit CniService(LeaseService* s, DaemonMetrics* metrics = nullptr)
      : s_(s), metrics_(metrics) {}
  grpc::Status Add(grpc::ServerContext*, const v1::AddRequest* q, v1::AddReply* r) override;
  grpc::Status Del(grpc::ServerContext*, const v1::DelRequest* q, v1::DelReply* r) override;
  grpc::Status Check(grpc::ServerContext*, const v1::CheckRequest* q, v1::CheckReply* r) override;
  grpc::Status Gc(grpc::ServerContext*, const v1::GcRequest* q, v1::GcReply* r) override;
  grpc::Status Status(grpc::ServerContext*, const v1::StatusRequest* q,
                      v1::StatusReply* r) override;

 private:
  // Runs one call and records it: the time around the service call, the result code.
  template <typename Reply, typename Call>
  void Timed(DaemonMetrics::Command command, Reply* reply, Call call);

  LeaseService* s_;
  DaemonMetrics* metrics_;
};

struct DaemonFacts {
  std::string db_path;
  std::string spool_dir;
  uint64_t spool_replayed = 0;
  // Adds what the core does not know (Kubernetes mode's API state); may be empty.
  std::function<void(v1::DaemonStatusReply*)> add_status;
};

class AdminService final : public v1::Admin::Service {
 public:
  // peers: nullptr in standalone mode. metrics: the counters `vmipctl status` shows.
  AdminService(LeaseService* s, DaemonFacts facts, PeerDirectory* peers,
               const DaemonMetrics* metrics = nullptr)
      : s_(s), facts_(std::move(facts)), peers_(peers), metrics_(metrics) {}
  grpc::Status ListLeases(grpc::ServerContext*, const v1::ListLeasesRequest* q,
                          v1::ListLeasesReply* r) override;
  grpc::Status ListPools(grpc::ServerContext*, const v1::ListPoolsRequest* q,
                         v1::ListPoolsReply* r) override;
  grpc::Status Status(grpc::ServerContext*, const v1::DaemonStatusRequest* q,
                      v1::DaemonStatusReply* r) override;
  grpc::Status History(grpc::ServerContext*, const v1::HistoryRequest* q,
                       v1::HistoryReply* r) override;
  grpc::Status Reserve(grpc::ServerContext*, const v1::ReserveRequest* q,
                       v1::ReserveReply* r) override;
  grpc::Status Unreserve(grpc::ServerContext*, const v1::UnreserveRequest* q,
                         v1::UnreserveReply* r) override;
  grpc::Status Release(grpc::ServerContext*, const v1::ReleaseRequest* q,
                       v1::ReleaseReply* r) override;
  grpc::Status CheckIntegrity(grpc::ServerContext*, const v1::CheckIntegrityRequest* q,
                              v1::CheckIntegrityReply* r) override;

 private:
  LeaseService* s_;
  DaemonFacts facts_;
  PeerDirectory* peers_;
  const DaemonMetrics* metrics_;
};

}  // namespace vmip
