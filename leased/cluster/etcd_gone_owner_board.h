// Kubernetes mode in a cluster: the elected daemon judges, every node releases its own.
// Key layout under /vmip/v1/kube/:
//   leader                          -> node name                (the leader's lease)
//   held/<node>/<kind>:<owner>/<uid> -> ""    (permanent: a node that is down still holds)
//   gone/<kind>:<owner>/<uid>        -> reason ("vm-deleted", ...)   (permanent)
// Each node publishes which owner+UID its leases hold (held/). The leader's deletion
// releaser judges those (Candidates) and writes a verdict (gone/), fenced by its hold
// on the leader key. Every node applies the verdicts to its own leases with
// LeaseService::ReleaseGone (node of record, UID, binding version and "no attachment"
// compared), so a node that was down applies them when it is back. The leader deletes
// a verdict once no node holds that owner+UID any more, so verdicts do not pile up.
#pragma once

#include <map>
#include <set>
#include <string>

#include "etcd_client.h"
#include "gone_owner_board.h"
#include "leader_election.h"
#include "lease_service.h"

namespace vmip {

class EtcdGoneOwnerBoard final : public GoneOwnerBoard {
 public:
  // All outlive the board.
  EtcdGoneOwnerBoard(EtcdClient* etcd, LeaderElection* election, LeaseService* service)
      : etcd_(etcd), election_(election), service_(service) {}

  bool leading() override { return election_->leading(); }
  std::string leader() override { return election_->leader(); }
  Result<std::vector<OwnerUid>> Candidates() override;
  Error OwnerGone(const OwnerUid& owner, EventKind reason) override;

  // Once a second on every node: publish what this node holds, apply the verdicts to
  // its own leases, and (leader) drop the verdicts nobody needs any more.
  void Follow();

 private:
  Result<std::set<OwnerUid>> Held(const std::string& node);  // "" = every node
  Result<std::map<OwnerUid, EventKind>> Verdicts();
  Error PublishHeld(const std::set<OwnerUid>& local);
  void DropSettled(const std::map<OwnerUid, EventKind>& verdicts);

  EtcdClient* etcd_;
  LeaderElection* election_;
  LeaseService* service_;
};

// The election key of the Kubernetes releaser.
std::string KubeLeaderKey();

}  // namespace vmip
