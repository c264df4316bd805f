// Cluster mode: the ADD path asks the cluster store (etcd) who owns what before
// anything is committed locally, and registers the attachment there (in the claim's
// own Txn for a new owner). Step 2 (PlanAdd) runs without the service's mu_, holding
// only the owner's lock; step 3 (ApplyAdd) re-checks and writes the
// local part under mu_ (cluster_add_plan.h). Undoing a failed ADD: coordinator_undo.cc.
// (DEL-side changes: coordinator_sync.cc.)

#include <algorithm>

#include "cluster_store_coordinator.h"
#include "decision_log.h"
#include "store_transaction.h"

namespace vmip {
namespace {

constexpr int kClaimAttempts = 16;

std::vector<std::string> IpsOf(const std::vector<AddressRow>& addrs) {
  std::vector<std::string> out;
  for (const auto& a : addrs) out.push_back(a.ip);
  return out;
}

}  // namespace

std::string AttachmentKey(const std::string& container_id, const std::string& ifname) {
  return container_id + "#" + ifname;
}

// Loads the addresses other nodes bound, once per network and start. The store is
// read without mu_; the free sets take the answer under it.
Error ClusterStoreCoordinator::SyncFromCluster(const AddIntent& in) {
  const std::string& name = in.req.caller().network();
  {
    std::lock_guard<std::mutex> lock(svc_.mu_);
    auto it = svc_.networks_.find(name);
    if (it != svc_.networks_.end() && it->second->cluster_synced) return Error{};
  }
  auto bound = cluster_->BoundAddresses(name);
  if (!bound.ok()) return bound.error();
  std::lock_guard<std::mutex> lock(svc_.mu_);
  ReadSession session(svc_.store_);
  auto net = svc_.NetworkFor(name, in.req.pool());
  if (!net.ok()) return net.error();
  for (const std::string& text : bound.value())
    if (auto ip = ParseIp(text)) net.value()->allocator->MarkRemote(*ip);
  net.value()->cluster_synced = true;
  return Error{};
}

// Under mu_ for a moment: free addresses for this ADD, held back from every other
// ADD on this node until the ADD ends (plan->reserved).
Result<std::vector<AddressRow>> ClusterStoreCoordinator::PickAndReserve(const AddIntent& in,
                                                                        ClusterAddPlan* plan) {
  std::lock_guard<std::mutex> lock(svc_.mu_);
  ReadSession session(svc_.store_);
  auto net = svc_.NetworkFor(in.req.caller().network(), in.req.pool());
  if (!net.ok()) return net.error();
  auto picked = svc_.PickAddresses(*net.value(), in.requested);
  if (picked.ok()) svc_.ReserveInFlight(*net.value(), picked.value(), &plan->reserved);
  return picked;
}

// A claim lost to another owner: give the picked addresses back and skip the one
// another node holds from now on.
void ClusterStoreCoordinator::ForgetPick(const AddIntent& in, ClusterAddPlan* plan,
                                         const std::optional<IpAddress>& taken) {
  std::lock_guard<std::mutex> lock(svc_.mu_);
  svc_.UnreserveInFlight(in.req.caller().network(), &plan->reserved);
  auto it = svc_.networks_.find(in.req.caller().network());
  if (taken && it != svc_.networks_.end()) it->second->allocator->MarkRemote(*taken);
}

// The owner is bound in the cluster (on this node before, or on another node: a
// migration target or a VM restarted elsewhere): bind the same addresses here.
Error ClusterStoreCoordinator::Adopt(const AddIntent& in, const ClusterBinding& binding,
                                     ClusterAddPlan* plan) {
  const v1::Caller& c = in.req.caller();
  std::vector<AddressRow> addrs;
  {
    std::lock_guard<std::mutex> lock(svc_.mu_);
    ReadSession session(svc_.store_);
    auto net = svc_.NetworkFor(c.network(), in.req.pool());
    if (!net.ok()) return net.error();
    for (const std::string& text : binding.ips) {
      auto ip = ParseIp(text);
      int set = ip ? net.value()->pool->SetContaining(*ip) : -1;
      if (set < 0)
        return MakeError(kBoundOutsidePool, in.owner.Describe() + " is bound in the cluster to " +
                                                text + ", which network " + c.network() +
                                                " here does not contain");
      if (Error e = HeldHere(c.network(), in.owner, text); e.code) return e;
      addrs.push_back(AddressRow{set, text});
    }
    svc_.ReserveInFlight(*net.value(), addrs, &plan->reserved);
  }
  // The binding becomes this node's: the old holder's copy, a late release or a
  // stale node can no longer remove it (they name the old version).
  int64_t revision = binding.revision;
  if (binding.node != svc_.node_) {
    auto taken = cluster_->TakeOver(c.network(), plan->owner_key, binding);
    if (!taken.ok()) return taken.error();
    revision = taken.value();
    QueueHandoff(in, plan, addrs.empty() ? "" : addrs[0].ip, binding.node);
  }
  Log(LogLevel::kInfo, "op=adopt network=" + c.network() + " owner=" + in.owner.Describe() +
                           " from_node=" + binding.node);
  plan->fresh = addrs;
  plan->adopted = true;
  plan->revision = revision;
  return Error{};
}

// With mu_ held: refuses an address this node's table gives another owner.
Error ClusterStoreCoordinator::HeldHere(const std::string& network, const Owner& owner,
                                        const std::string& ip) {
  auto holder = svc_.store_->FindHolder(network, ip);
  if (!holder.ok()) return holder.error();
  if (!holder.value()) return Error{};
  return MakeError(kAddressHeld, "address " + ip + " of " + owner.Describe() +
                                     " is still held on this node by " +
                                     holder.value()->DescribeOwner());
}

// Tells the node a binding was taken from, once this ADD commits.
void ClusterStoreCoordinator::QueueHandoff(const AddIntent& in, ClusterAddPlan* plan,
                                           const std::string& ip, const std::string& from_node) {
  const v1::Caller& c = in.req.caller();
  v1::HandoffNotice n;
  n.set_network(c.network());
  n.set_owner(plan->owner_key);
  n.set_ip(ip);
  n.set_from_node(from_node);
  n.set_to_node(svc_.node_);
  n.set_container_id(c.container_id());
  plan->notices.push_back(n);
}

// A local lease whose binding another node holds: make it this node's again.
Error ClusterStoreCoordinator::Reclaim(const AddIntent& in, const ClusterBinding& binding,
                                       ClusterAddPlan* plan) {
  const LeaseRow& lease = *plan->keep;
  plan->revision = binding.revision;
  if (binding.node == svc_.node_) return Error{};
  auto taken = cluster_->TakeOver(lease.network, plan->owner_key, binding);
  if (!taken.ok()) return taken.error();
  plan->revision = taken.value();
  Log(LogLevel::kInfo, "op=reclaim network=" + lease.network + " owner=" + plan->owner_key +
                           " from_node=" + binding.node);
  QueueHandoff(in, plan, lease.addresses.empty() ? "" : lease.addresses[0].ip, binding.node);
  return Error{};
}

// Bound here but unknown to the cluster (bound before cluster mode, or released
// elsewhere): claim the same addresses again, with the attachment, or refuse.
Error ClusterStoreCoordinator::ClaimLocalLease(const AddIntent& in, const AttachmentClaim& att,
                                               ClusterAddPlan* plan,
                                               std::optional<ClusterBinding>* binding) {
  std::vector<std::string> ips = IpsOf(in.lease->addresses);
  plan->attached = true;  // also when the call fails: it may have landed
  auto claim = cluster_->Claim(in.req.caller().network(), plan->owner_key,
                               ClusterBinding{ips, svc_.node_}, &att);
  if (!claim.ok()) return claim.error();
  plan->attached = claim.value().claimed;  // a refused claim wrote nothing
  if (!claim.value().taken_ip.empty())
    return MakeError(kAddressHeld, "address " + claim.value().taken_ip + " of " +
                                       in.owner.Describe() +
                                       " is bound to another owner in the cluster");
  if (claim.value().existing) *binding = claim.value().existing;
  if (claim.value().claimed) {
    *binding = ClusterBinding{ips, svc_.node_, claim.value().revision};
    plan->claimed = true;
    plan->ips = ips;
    plan->revision = claim.value().revision;
  }
  return Error{};
}

// A VM restarted on this node: its local lease records the version of its binding
// this node last wrote or read (cluster_revision), and Attach compares exactly that
// version, so no read is needed first: one round trip. True: attached to the lease.
// False: the binding changed (taken over, released, bound anew) and nothing was
// written; the caller reads it as usual.
Result<bool> ClusterStoreCoordinator::AttachToLocalBinding(const AddIntent& in,
                                                           const AttachmentClaim& att,
                                                           ClusterAddPlan* plan) {
  const LeaseRow& lease = *in.lease;
  if (lease.cluster_revision <= 0 || !lease.handed_to.empty()) return false;
  plan->attached = true;  // also when the call fails: it may have landed
  auto r = cluster_->Attach(lease.network, att.attachment, plan->owner_key, att.token,
                            lease.cluster_revision);
  if (!r.ok()) return r;
  plan->attached = r.value();  // a refused attach wrote nothing
  if (!r.value()) {
    Log(LogLevel::kDebug, "op=add owner=" + plan->owner_key +
                              " revision=" + std::to_string(lease.cluster_revision) +
                              " msg=\"binding changed since the local lease; reading it\"");
    return false;
  }
  plan->keep = lease;
  plan->revision = lease.cluster_revision;
  return true;
}

Error ClusterStoreCoordinator::PlanAdd(const AddIntent& in, const AttachmentRow& row,
                                       ClusterAddPlan* plan) {
  const v1::Caller& c = in.req.caller();
  plan->owner_key = in.owner.Key(c.ifname()).Encode();
  if (!c.reservation().empty())
    return MakeError(kInvalidConfig, "reservations are not supported in cluster mode yet");
  if (Error e = SyncFromCluster(in); e.code) return e;
  AttachmentClaim att{AttachmentKey(row.container_id, row.ifname), row.cluster_token};
  if (in.lease) {
    auto attached = AttachToLocalBinding(in, att, plan);
    if (!attached.ok()) return attached.error();
    if (attached.value()) return Error{};
  }
  if (Error e = Agree(in, att, plan); e.code) return e;
  if (plan->claimed) return Error{};  // the claim wrote the attachment too
  // Adopted, reclaimed or kept: attach to the binding version agreed on.
  plan->attached = true;  // also when the call fails: it may have landed
  auto r =
      cluster_->Attach(row.network, att.attachment, plan->owner_key, att.token, plan->revision);
  if (!r.ok()) return r.error();
  plan->attached = r.value();
  if (!r.value())
    return MakeError(kTryAgainLater,
                     "the cluster binding of " + plan->owner_key + " on network " + row.network +
                         " changed (released or adopted elsewhere) during this ADD");
  return Error{};
}

// The binding the owner attaches to. A new owner is claimed together with its
// attachment (one Txn); an existing binding is adopted, reclaimed or kept.
Error ClusterStoreCoordinator::Agree(const AddIntent& in, const AttachmentClaim& att,
                                     ClusterAddPlan* plan) {
  const v1::Caller& c = in.req.caller();
  // A new owner asking for no particular address goes straight to the claim, whose
  // failure answer names an existing binding (then adopted): one round trip less.
  // With a local lease or a requested address the binding is read first.
  bool any = std::all_of(in.requested.begin(), in.requested.end(),
                         [](const IpAddress& ip) { return !ip.v6 && ip.value == 0; });
  Result<std::optional<ClusterBinding>> binding = std::optional<ClusterBinding>();
  if (in.lease || !any) binding = cluster_->FindBinding(c.network(), plan->owner_key);
  if (!binding.ok()) return binding.error();
  std::optional<LeaseRow> lease = in.lease;
  if (lease && !binding.value())
    if (Error e = ClaimLocalLease(in, att, plan, &binding.value()); e.code) return e;
  if (lease && binding.value() && binding.value()->ips != IpsOf(lease->addresses)) {
    Log(LogLevel::kWarn, "op=add owner=" + in.owner.Describe() +
                             " msg=\"local lease differs from the cluster; cluster wins\"");
    plan->drop = lease;
    lease.reset();
  }
  if (lease) {
    plan->keep = lease;
    return Reclaim(in, *binding.value(), plan);
  }
  if (binding.value()) return Adopt(in, *binding.value(), plan);
  for (int attempt = 0; attempt < kClaimAttempts; attempt++) {
    auto picked = PickAndReserve(in, plan);
    if (!picked.ok()) return picked.error();
    std::vector<std::string> ips = IpsOf(picked.value());
    plan->attached = true;  // also when the call fails: it may have landed
    auto claim =
        cluster_->Claim(c.network(), plan->owner_key, ClusterBinding{ips, svc_.node_}, &att);
    if (!claim.ok()) return claim.error();
    plan->attached = claim.value().claimed;  // a refused claim wrote nothing
    if (claim.value().claimed) {
      plan->fresh = picked.value();
      plan->claimed = true;
      plan->ips = ips;
      plan->revision = claim.value().revision;
      return Error{};
    }
    auto ip = ParseIp(claim.value().taken_ip);
    ForgetPick(in, plan, ip);
    if (claim.value().existing) return Adopt(in, *claim.value().existing, plan);
    if (!ip) break;
    if (std::find(in.requested.begin(), in.requested.end(), *ip) != in.requested.end())
      return MakeError(kAddressHeld, "address " + ip->ToString() + " on network " + c.network() +
                                         " is held by another owner in the cluster");
  }
  return MakeError(kTryAgainLater, "no address could be claimed in the cluster after " +
                                       std::to_string(kClaimAttempts) + " attempts");
}

}  // namespace vmip
