// Cluster mode: the other daemons, found through the cluster store's node keys,
// and gRPC stubs for their Peer service (read-only views and hand-off notices).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cluster_store.h"
#include "handoff_sender.h"
#include "tls_files.h"
#include "vmip.grpc.pb.h"

namespace vmip {

class PeerDirectory final : public HandoffSender {
 public:
  PeerDirectory(ClusterStore* cluster, std::string self, TlsMaterial tls)
      : cluster_(cluster), self_(std::move(self)), tls_(std::move(tls)) {}

  // Every live node but this one, with a stub for its peer address.
  Result<std::map<std::string, v1::Peer::Stub*>> Peers();
  void SendHandoff(const v1::HandoffNotice& notice) override;

 private:
  v1::Peer::Stub* StubFor(const std::string& address);

  ClusterStore* cluster_;
  std::string self_;
  TlsMaterial tls_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<v1::Peer::Stub>> stubs_;  // by address
};

// A context with a short deadline for peer calls: a dead peer must not stall views.
std::unique_ptr<grpc::ClientContext> PeerContext();

}  // namespace vmip
