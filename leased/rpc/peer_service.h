// The Peer service other daemons call on --peer-address: read-only views of this
// node's table and hand-off notices. It can change nothing but the history.
#pragma once

#include "daemon_metrics.h"
#include "lease_service.h"
#include "peer_directory.h"
#include "vmip.grpc.pb.h"

namespace vmip {

class PeerService final : public v1::Peer::Service {
 public:
  // coordinator: where hand-off notices go (null: ignored, standalone). metrics: counts
  // the calls peers make here (nullptr: not counted).
  PeerService(LeaseService* s, ClusterCoordinator* coordinator, DaemonMetrics* metrics = nullptr)
      : s_(s), coordinator_(coordinator), metrics_(metrics) {}
  grpc::Status ListLeases(grpc::ServerContext*, const v1::ListLeasesRequest* q,
                          v1::ListLeasesReply* r) override;
  grpc::Status History(grpc::ServerContext*, const v1::HistoryRequest* q,
                       v1::HistoryReply* r) override;
  grpc::Status Handoff(grpc::ServerContext*, const v1::HandoffNotice* q,
                       v1::HandoffReply* r) override;

 private:
  void Count(const char* method, unsigned code) {
    if (metrics_) metrics_->RecordPeer(method, code);
  }

  LeaseService* s_;
  ClusterCoordinator* coordinator_;
  DaemonMetrics* metrics_;
};

// Cluster-wide views for vmipctl --cluster: this node's rows plus every live
// peer's, naming the peers that did not answer.
v1::ListLeasesReply ClusterLeases(LeaseService& local, PeerDirectory& peers,
                                  const v1::ListLeasesRequest& req);
v1::HistoryReply ClusterHistory(LeaseService& local, PeerDirectory& peers,
                                const v1::HistoryRequest& req);

}  // namespace vmip
