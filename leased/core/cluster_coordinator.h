// What the lease service asks of "the cluster". A standalone node answers with the
// null coordinator below; cluster mode plugs in ClusterStoreCoordinator (cluster/),
// which keeps bindings and attachments in a ClusterStore (etcd). The core knows only
// this interface: it includes no cluster/, etcd or gRPC header.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "add_context.h"
#include "cluster_add_plan.h"
#include "error.h"
#include "ip_address.h"
#include "lease_store.h"
#include "network_state.h"
#include "owner.h"
#include "reply_error.h"
#include "vmip.pb.h"

namespace vmip {

// Whether this node may expire a detached binding (lease_expiry.cc), and what the
// conditional release then compares.
struct ExpiryClearance {
  enum class Verdict {
    kMayExpire,          // this node's to expire: no attachment anywhere
    kAttachedElsewhere,  // another node runs the VM (detail: that node)
    kNotHere,            // another node holds the binding, or none does (detail: which)
  };
  Verdict verdict = Verdict::kMayExpire;
  std::string detail;
  std::vector<std::string> ips;     // the binding as read, for ReleaseExpired
  int64_t binding_revision = 0;     // idem
  int64_t attachments_seen_at = 0;  // no attachment may appear after this
};

class ClusterCoordinator {
 public:
  virtual ~ClusterCoordinator() = default;

  // False on a standalone node: the lease service then decides alone and never
  // calls PlanAdd or Release below.
  virtual bool clustered() const = 0;

  // ADD, step 2 (cluster_add_plan.h), holding the owner's lock but not
  // LeaseService::mu_ (it may take mu_ for moments, never across a store call): the
  // binding the owner attaches to, agreed with the cluster, and `att` registered
  // there (the cluster hears of the attachment before the local commit; a new
  // owner's claim carries it). Fills *plan as it goes, also on failure, so the
  // caller can undo what was done.
  virtual Error PlanAdd(const AddIntent& in, const AttachmentRow& att, ClusterAddPlan* plan) = 0;
  // ADD, step 3, with mu_ held inside the ADD's transaction: re-checks what the
  // plan relies on and writes its local part; returns the lease to attach to. Sets
  // ctx.fresh.
  virtual Result<LeaseRow> ApplyAdd(AddContext& ctx, const ClusterAddPlan& plan) = 0;
  // ADD, after step 3 committed (mu_ held): queue the plan's hand-off notices.
  virtual void AddCommitted(ClusterAddPlan* plan) = 0;
  // ADD failed after step 2 (mu_ not held): remove the attachment and give a
  // binding it created back, each only if still the version step 2 wrote.
  virtual void UndoAdd(const AttachmentRow& att, const ClusterAddPlan& plan) = 0;

  // Called with LeaseService::mu_ held, inside the request's transaction.
  //
  // DEL side: queue the removal of an attachment / a binding for the cluster.
  virtual Error QueueDetach(const AttachmentRow& att, const LeaseRow& lease) = 0;
  virtual Error QueueRelease(const LeaseRow& lease) = 0;

  // Called without the mutex.
  //
  // Readiness probe: one read of the cluster store.
  virtual Error CheckReachable() = 0;
  // vmipctl release: a cluster-wide decision.
  virtual v1::ReleaseReply Release(const v1::ReleaseRequest& req) = 0;
  // A peer adopted a binding this node made.
  virtual void RecordHandoff(const v1::HandoffNotice& notice) = 0;
  // Expiry: may this node expire the detached `lease`? (Quorum reads.)
  virtual Result<ExpiryClearance> ClearExpiry(const LeaseRow& lease) = 0;
  // Expiry, with the mutex held, before the local delete: releases the binding only
  // if it is still what `clearance` read and no attachment appeared. False: changed.
  virtual Result<bool> ReleaseExpired(const LeaseRow& lease, const ExpiryClearance& clearance) = 0;
  // Background, once a second: queued changes, hand-off notices, resync.
  virtual void Flush() = 0;
};

// A standalone node: nothing to agree with anyone.
class StandaloneCoordinator final : public ClusterCoordinator {
 public:
  bool clustered() const override { return false; }
  Error PlanAdd(const AddIntent&, const AttachmentRow&, ClusterAddPlan*) override {
    return MakeError(kInternal, "standalone node: no cluster to bind in");
  }
  Result<LeaseRow> ApplyAdd(AddContext&, const ClusterAddPlan&) override {
    return MakeError(kInternal, "standalone node: no cluster to bind in");
  }
  void AddCommitted(ClusterAddPlan*) override {}
  void UndoAdd(const AttachmentRow&, const ClusterAddPlan&) override {}
  Error QueueDetach(const AttachmentRow&, const LeaseRow&) override { return Error{}; }
  Error QueueRelease(const LeaseRow&) override { return Error{}; }
  Error CheckReachable() override { return Error{}; }
  v1::ReleaseReply Release(const v1::ReleaseRequest&) override {
    return WithError<v1::ReleaseReply>(MakeError(kInternal, "standalone node: no cluster release"));
  }
  void RecordHandoff(const v1::HandoffNotice&) override {}
  Result<ExpiryClearance> ClearExpiry(const LeaseRow&) override { return ExpiryClearance{}; }
  Result<bool> ReleaseExpired(const LeaseRow&, const ExpiryClearance&) override { return true; }
  void Flush() override {}
};

}  // namespace vmip
