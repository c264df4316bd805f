// Cluster mode: the lease service's coordinator over a ClusterStore (etcd today).
// It asks the store who owns what before an ADD commits (coordinator_add.cc), carries
// DEL-side changes through the outbox, follows other nodes' changes and records
// hand-offs (coordinator_sync.cc), and releases a VM cluster-wide
// (coordinator_release.cc). It works on the service's table and free sets under the
// service's mutex, by the contract documented next to LeaseService::mu_; an ADD's
// store calls run outside it (cluster_add_plan.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster_coordinator.h"
#include "cluster_store.h"
#include "handoff_sender.h"
#include "lease_service.h"

namespace vmip {

// The cluster key of an attachment (see cluster_store.h); owner keys: OwnerKey.
std::string AttachmentKey(const std::string& container_id, const std::string& ifname);

class ClusterStoreCoordinator final : public ClusterCoordinator {
 public:
  // All three outlive the coordinator; peers may be null (no notices are sent).
  ClusterStoreCoordinator(LeaseService* service, ClusterStore* cluster, HandoffSender* peers)
      : svc_(*service), cluster_(cluster), peers_(peers) {}

  bool clustered() const override { return true; }
  // ADD (coordinator_add.cc, coordinator_add_commit.cc; the steps: cluster_add_plan.h).
  Error PlanAdd(const AddIntent& in, const AttachmentRow& att, ClusterAddPlan* plan) override;
  Result<LeaseRow> ApplyAdd(AddContext& ctx, const ClusterAddPlan& plan) override;
  void AddCommitted(ClusterAddPlan* plan) override;
  void UndoAdd(const AttachmentRow& att, const ClusterAddPlan& plan) override;
  Error QueueDetach(const AttachmentRow& att, const LeaseRow& lease) override;
  Error QueueRelease(const LeaseRow& lease) override;
  Error CheckReachable() override;
  v1::ReleaseReply Release(const v1::ReleaseRequest& req) override;
  void RecordHandoff(const v1::HandoffNotice& notice) override;
  // Expiry (coordinator_expiry.cc): only the binding's node of record, and never
  // while any node holds an attachment of it.
  Result<ExpiryClearance> ClearExpiry(const LeaseRow& lease) override;
  Result<bool> ReleaseExpired(const LeaseRow& lease, const ExpiryClearance& clearance) override;
  // Applies queued cluster changes (DEL while etcd was unreachable) and, after a
  // start or a lost liveness lease, re-registers this node's attachments.
  // Takes the service's lock only around database work.
  void Flush() override;

  // Follows the cluster's address changes (etcd watch) from now on: an address
  // another node frees is reusable here within about a second.
  void Watch();
  // Reloads which addresses other nodes hold, so ones they freed are reused here.
  void RefreshRemote();
  void ApplyAddressChange(const AddressChange& change);

 private:
  using Network = NetworkState;
  using Released = LeaseService::Released;

  // ADD, step 2 (without the service's mu_ but for moments).
  Error SyncFromCluster(const AddIntent& in);
  Result<std::vector<AddressRow>> PickAndReserve(const AddIntent& in, ClusterAddPlan* plan);
  void ForgetPick(const AddIntent& in, ClusterAddPlan* plan, const std::optional<IpAddress>& taken);
  Result<bool> AttachToLocalBinding(const AddIntent& in, const AttachmentClaim& att,
                                    ClusterAddPlan* plan);
  Error Agree(const AddIntent& in, const AttachmentClaim& att, ClusterAddPlan* plan);
  Error ClaimLocalLease(const AddIntent& in, const AttachmentClaim& att, ClusterAddPlan* plan,
                        std::optional<ClusterBinding>* binding);
  Error Adopt(const AddIntent& in, const ClusterBinding& binding, ClusterAddPlan* plan);
  // A local lease whose binding is held by another node: make it this node's again.
  Error Reclaim(const AddIntent& in, const ClusterBinding& binding, ClusterAddPlan* plan);
  // Tells the node a binding was taken from, once this ADD commits.
  void QueueHandoff(const AddIntent& in, ClusterAddPlan* plan, const std::string& ip,
                    const std::string& from_node);
  // With mu_ held: refuses an address this node's table gives another owner.
  Error HeldHere(const std::string& network, const Owner& owner, const std::string& ip);
  Error ResyncAttachments();
  Error DropReleasedElsewhere(const std::string& network, const std::string& ip);
  // Applies one queued cluster change; code 11 means "keep it for later".
  Error ApplyOutboxRow(const OutboxRow& row);

  LeaseService& svc_;
  ClusterStore* cluster_;
  HandoffSender* peers_;
  // Guarded by the service's mu_.
  std::vector<v1::HandoffNotice> notices_;  // to send, outside the lock
  bool resync_needed_ = true;               // the Flush() thread's own
};

}  // namespace vmip
