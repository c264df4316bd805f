// What the lease service asks of "the cluster". A standalone node answers with the
// null coordinator below; cluster mode plugs in ClusterStoreCoordinator (cluster/),
// which keeps bindings and attachments in a ClusterStore (etcd). The core knows only
// this interface: it includes no cluster/, etcd or gRPC header.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "add_context.h"
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
  // calls LeaseForAdd or Release below.
  virtual bool clustered() const = 0;

  // Called with LeaseService::mu_ held, inside the request's transaction.
  //
  // ADD: the lease the owner attaches to, agreed with the cluster before anything
  // commits locally. `lease` is the owner's local lease, if any. Sets ctx.fresh and
  // ctx.claimed (FinishAdd gives a claimed binding back on failure).
  virtual Result<LeaseRow> LeaseForAdd(AddContext& ctx, std::optional<LeaseRow> lease) = 0;
  // ADD: the cluster hears of the attachment before the local commit.
  virtual Error Attach(const AttachmentRow& att, const LeaseRow& lease) = 0;
  // ADD: the local commit succeeded or not (the transaction is rolled back already).
  virtual void FinishAdd(const AddContext& ctx, const LeaseRow& lease, bool committed) = 0;
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
  Result<LeaseRow> LeaseForAdd(AddContext&, std::optional<LeaseRow>) override {
    return MakeError(kInternal, "standalone node: no cluster to bind in");
  }
  Error Attach(const AttachmentRow&, const LeaseRow&) override { return Error{}; }
  void FinishAdd(const AddContext&, const LeaseRow&, bool) override {}
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
