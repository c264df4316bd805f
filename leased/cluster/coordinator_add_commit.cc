// Cluster mode, the end of an ADD: step 3 re-checks what step 2 agreed with the
// cluster against this node's table and writes it (under the service's mu_, in the
// ADD's transaction); a failed ADD takes back what step 2 wrote in the cluster
// store, each write only if it is still the version step 2 made.

#include "cluster_store_coordinator.h"
#include "decision_log.h"
#include "store_transaction.h"

namespace vmip {
namespace {

// The owner's local lease is still the one step 1 read: same row, same addresses,
// not handed to another node meanwhile (DEL, expiry, a hand-off notice or the
// cluster watch may have changed it while the ADD was in etcd).
bool Unchanged(const std::optional<LeaseRow>& now, const std::optional<LeaseRow>& seen) {
  if (!now || !seen) return !now && !seen;
  if (now->id != seen->id || now->handed_to != seen->handed_to) return false;
  if (now->addresses.size() != seen->addresses.size()) return false;
  for (size_t i = 0; i < now->addresses.size(); i++)
    if (now->addresses[i].ip != seen->addresses[i].ip) return false;
  return true;
}

}  // namespace

Result<LeaseRow> ClusterStoreCoordinator::ApplyAdd(AddContext& ctx, const ClusterAddPlan& plan) {
  const v1::Caller& c = ctx.caller;
  auto now = svc_.store_->FindLease(c.network(), ctx.owner.kind, ctx.owner.name, c.ifname());
  if (!now.ok()) return now.error();
  if (!Unchanged(now.value(), plan.keep ? plan.keep : plan.drop))
    return MakeError(kTryAgainLater, "the lease of " + ctx.owner.Describe() + " on network " +
                                         c.network() +
                                         " changed on this node during this ADD; try again");
  if (plan.drop)
    if (Error e = svc_.store_->DeleteLease(plan.drop->id); e.code) return e;
  if (plan.keep) {
    LeaseRow lease = *now.value();
    if (Error e = svc_.CheckLeaseFits(ctx.net, lease, ctx.requested); e.code) return e;
    if (!lease.handed_to.empty())
      if (Error e = svc_.store_->SetHandedTo(lease.id, ""); e.code) return e;
    lease.handed_to.clear();
    if (plan.revision != lease.cluster_revision)
      if (Error e = svc_.store_->SetClusterRevision(lease.id, plan.revision); e.code) return e;
    lease.cluster_revision = plan.revision;
    return lease;
  }
  // A new lease needs the binding step 2 made or adopted to be still there: a
  // `vmipctl release --force` here meanwhile found no local lease to compare with.
  auto in_flight = svc_.binding_adds_.find(BindingLockKey(c.network(), plan.owner_key));
  if (in_flight != svc_.binding_adds_.end() && in_flight->second)
    return MakeError(kTryAgainLater, "the binding of " + ctx.owner.Describe() + " on network " +
                                         c.network() +
                                         " was released on this node during this ADD; try again");
  // A new lease: its addresses were held back from this node's other ADDs; the
  // table must agree that nobody here holds them.
  for (const AddressRow& a : plan.fresh)
    if (Error e = HeldHere(c.network(), ctx.owner, a.ip); e.code) return e;
  if (plan.adopted) {
    Error e = svc_.store_->AppendEvent(EventRow{
        ctx.now, c.network(), EventKind::kAdopt, ctx.owner.Key().Tag(),
        plan.fresh.empty() ? "" : plan.fresh[0].ip, c.container_id(), c.ifname(), svc_.node_});
    if (e.code) return e;
  }
  ctx.fresh = plan.fresh;
  ctx.claimed = plan.claimed;
  auto lease = svc_.NewLease(ctx, plan.fresh, plan.revision);
  if (lease.ok() && plan.adopted)
    if (Error e = svc_.CheckLeaseFits(ctx.net, lease.value(), ctx.requested); e.code) return e;
  return lease;
}

void ClusterStoreCoordinator::AddCommitted(ClusterAddPlan* plan) {
  for (auto& n : plan->notices) notices_.push_back(std::move(n));
  plan->notices.clear();
}

// Without mu_: the attachment first (it names the binding), then a binding this ADD
// created. A store that cannot be reached now gets the same removal through the
// outbox, which replays it with the same versions.
void ClusterStoreCoordinator::UndoAdd(const AttachmentRow& att, const ClusterAddPlan& plan) {
  std::vector<OutboxRow> later;
  std::string key = AttachmentKey(att.container_id, att.ifname);
  if (plan.attached) {
    Error e = cluster_->Detach(att.network, key, plan.owner_key, att.cluster_token);
    if (e.code == kTryAgainLater)
      later.push_back(OutboxRow{0, OutboxOp::kDetach, att.network, key,
                                plan.owner_key + " " + att.cluster_token});
  }
  if (plan.claimed) {
    auto r = cluster_->Release(att.network, plan.owner_key, plan.ips, plan.revision);
    std::string ips;
    for (const std::string& ip : plan.ips) ips += (ips.empty() ? "" : ",") + ip;
    if (!r.ok() && r.error().code == kTryAgainLater)
      later.push_back(OutboxRow{0, OutboxOp::kRelease, att.network, plan.owner_key,
                                std::to_string(plan.revision) + " " + ips});
    else if (!r.ok())
      Log(LogLevel::kError,
          "op=unclaim owner=" + plan.owner_key + " msg=\"" + r.error().msg + "\"");
  }
  if (later.empty()) return;
  std::lock_guard<std::mutex> lock(svc_.mu_);
  ReadSession session(svc_.store_);
  for (const OutboxRow& row : later)
    if (Error e = svc_.store_->AddOutbox(row); e.code)
      Log(LogLevel::kError, "op=undo-add key=" + row.key + " msg=\"" + e.msg + "\"");
}

}  // namespace vmip
