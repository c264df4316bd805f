// Cluster mode: the ADD path asks the cluster store (etcd) who owns what before
// anything is committed locally. (DEL-side changes: coordinator_sync.cc.)

#include "cluster_store_coordinator.h"
#include "decision_log.h"

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

// Loads the addresses other nodes bound, once per network and start.
Error ClusterStoreCoordinator::SyncFromCluster(Network& net) {
  if (net.cluster_synced) return Error{};
  auto bound = cluster_->BoundAddresses(net.pool->network());
  if (!bound.ok()) return bound.error();
  for (const std::string& text : bound.value())
    if (auto ip = ParseIp(text)) net.allocator->MarkRemote(*ip);
  net.cluster_synced = true;
  return Error{};
}

// The owner is bound in the cluster (on this node before, or on another node: a
// migration target or a VM restarted elsewhere): bind the same addresses here.
Result<LeaseRow> ClusterStoreCoordinator::Adopt(AddContext& ctx, const ClusterBinding& binding) {
  const v1::Caller& c = ctx.caller;
  const Owner& owner = ctx.owner;
  std::vector<AddressRow> addrs;
  for (const std::string& text : binding.ips) {
    auto ip = ParseIp(text);
    int set = ip ? ctx.net.pool->SetContaining(*ip) : -1;
    if (set < 0)
      return MakeError(kBoundOutsidePool, owner.Describe() + " is bound in the cluster to " + text +
                                              ", which network " + c.network() +
                                              " here does not contain");
    auto holder = svc_.store_->FindHolder(c.network(), text);
    if (!holder.ok()) return holder.error();
    if (holder.value())
      return MakeError(kAddressHeld, "address " + text + " of " + owner.Describe() +
                                         " is still held on this node by " +
                                         holder.value()->DescribeOwner());
    addrs.push_back(AddressRow{set, text});
  }
  // The binding becomes this node's: the old holder's copy, a late release or a
  // stale node can no longer remove it (they name the old version).
  int64_t revision = binding.revision;
  if (binding.node != svc_.node_) {
    auto taken = cluster_->TakeOver(c.network(), owner.Key(c.ifname()).Encode(), binding);
    if (!taken.ok()) return taken.error();
    revision = taken.value();
  }
  Log(LogLevel::kInfo, "op=adopt network=" + c.network() + " owner=" + owner.Describe() +
                           " from_node=" + binding.node);

  std::string first_ip = addrs.empty() ? "" : addrs[0].ip;
  Error e =
      svc_.store_->AppendEvent(EventRow{ctx.now, c.network(), EventKind::kAdopt, owner.Key().Tag(),
                                        first_ip, c.container_id(), c.ifname(), svc_.node_});
  if (e.code) return e;
  if (binding.node != svc_.node_)
    QueueHandoff(ctx, owner.Key(c.ifname()).Encode(), first_ip, binding.node);
  ctx.fresh = addrs;
  return svc_.NewLease(ctx, addrs, revision);
}

// Tells the node a binding was taken from, once this ADD commits.
void ClusterStoreCoordinator::QueueHandoff(const AddContext& ctx, const std::string& owner_key,
                                           const std::string& ip, const std::string& from_node) {
  const v1::Caller& c = ctx.caller;
  v1::HandoffNotice n;
  n.set_network(c.network());
  n.set_owner(owner_key);
  n.set_ip(ip);
  n.set_from_node(from_node);
  n.set_to_node(svc_.node_);
  n.set_container_id(c.container_id());
  uncommitted_notices_.push_back(n);
}

Error ClusterStoreCoordinator::Reclaim(const AddContext& ctx, const std::string& key,
                                       const ClusterBinding& binding, LeaseRow* lease) {
  const v1::Caller& c = ctx.caller;
  int64_t revision = binding.revision;
  if (binding.node != svc_.node_) {
    auto taken = cluster_->TakeOver(c.network(), key, binding);
    if (!taken.ok()) return taken.error();
    revision = taken.value();
    Log(LogLevel::kInfo,
        "op=reclaim network=" + c.network() + " owner=" + key + " from_node=" + binding.node);
    QueueHandoff(ctx, key, lease->addresses.empty() ? "" : lease->addresses[0].ip, binding.node);
  }
  if (!lease->handed_to.empty())
    if (Error e = svc_.store_->SetHandedTo(lease->id, ""); e.code) return e;
  lease->handed_to.clear();
  if (revision != lease->cluster_revision)
    if (Error e = svc_.store_->SetClusterRevision(lease->id, revision); e.code) return e;
  lease->cluster_revision = revision;
  return Error{};
}

Result<LeaseRow> ClusterStoreCoordinator::LeaseForAdd(AddContext& ctx,
                                                      std::optional<LeaseRow> lease) {
  const v1::Caller& c = ctx.caller;
  Network& net = ctx.net;
  uncommitted_notices_.clear();
  if (!c.reservation().empty())
    return MakeError(kInvalidConfig, "reservations are not supported in cluster mode yet");
  if (Error e = SyncFromCluster(net); e.code) return e;
  std::string key = ctx.owner.Key(c.ifname()).Encode();
  auto binding = cluster_->FindBinding(c.network(), key);
  if (!binding.ok()) return binding.error();
  if (lease && !binding.value()) {
    // Bound here but unknown to the cluster (bound before cluster mode, or
    // released elsewhere): claim the same addresses again, or refuse.
    auto claim =
        cluster_->Claim(c.network(), key, ClusterBinding{IpsOf(lease->addresses), svc_.node_});
    if (!claim.ok()) return claim.error();
    if (!claim.value().taken_ip.empty())
      return MakeError(kAddressHeld, "address " + claim.value().taken_ip + " of " +
                                         ctx.owner.Describe() +
                                         " is bound to another owner in the cluster");
    if (claim.value().existing) binding.value() = claim.value().existing;
    if (claim.value().claimed) {
      binding.value() = ClusterBinding{IpsOf(lease->addresses), svc_.node_, claim.value().revision};
      ctx.claimed = true;
    }
  }
  if (lease && binding.value() && binding.value()->ips != IpsOf(lease->addresses)) {
    Log(LogLevel::kWarn, "op=add owner=" + ctx.owner.Describe() +
                             " msg=\"local lease differs from the cluster; cluster wins\"");
    if (Error e = svc_.store_->DeleteLease(lease->id); e.code) return e;
    lease.reset();
  }
  if (lease) {
    if (Error e = svc_.CheckLeaseFits(net, *lease, ctx.requested); e.code) return e;
    if (Error e = Reclaim(ctx, key, *binding.value(), &*lease); e.code) return e;
    return *lease;
  }
  if (binding.value()) {
    auto adopted = Adopt(ctx, *binding.value());
    if (adopted.ok())
      if (Error e = svc_.CheckLeaseFits(net, adopted.value(), ctx.requested); e.code) return e;
    return adopted;
  }
  for (int attempt = 0; attempt < kClaimAttempts; attempt++) {
    auto picked = svc_.PickAddresses(net, ctx.requested);
    if (!picked.ok()) return picked.error();
    auto claim =
        cluster_->Claim(c.network(), key, ClusterBinding{IpsOf(picked.value()), svc_.node_});
    if (!claim.ok()) return claim.error();
    if (claim.value().claimed) {
      ctx.fresh = picked.value();
      ctx.claimed = true;
      return svc_.NewLease(ctx, ctx.fresh, claim.value().revision);
    }
    if (claim.value().existing) return Adopt(ctx, *claim.value().existing);
    auto ip = ParseIp(claim.value().taken_ip);
    if (!ip) break;
    net.allocator->MarkRemote(*ip);
    int set = net.pool->SetContaining(*ip);
    if (set >= 0 && ctx.requested[set] == *ip)
      return MakeError(kAddressHeld, "address " + ip->ToString() + " on network " + c.network() +
                                         " is held by another owner in the cluster");
  }
  return MakeError(kTryAgainLater, "no address could be claimed in the cluster after " +
                                       std::to_string(kClaimAttempts) + " attempts");
}

// The cluster hears of the attachment before the local commit: an unreachable etcd
// fails the ADD instead of leaving an attachment the cluster never saw.
Error ClusterStoreCoordinator::Attach(const AttachmentRow& att, const LeaseRow& lease) {
  return cluster_->Attach(att.network, AttachmentKey(att.container_id, att.ifname),
                          lease.Key().Encode(), att.cluster_token, lease.cluster_revision);
}

void ClusterStoreCoordinator::FinishAdd(const AddContext& ctx, const LeaseRow& lease,
                                        bool committed) {
  if (committed)
    for (auto& n : uncommitted_notices_) notices_.push_back(std::move(n));
  uncommitted_notices_.clear();  // failed: nothing was handed off
  if (!committed && ctx.claimed) UnclaimAfterFailure(lease);
}

// The local commit failed after a claim: give the claim back so nothing leaks.
void ClusterStoreCoordinator::UnclaimAfterFailure(const LeaseRow& lease) {
  auto r = cluster_->Release(lease.network, lease.Key().Encode(), IpsOf(lease.addresses),
                             lease.cluster_revision);
  if (!r.ok())
    Log(LogLevel::kError,
        "op=unclaim owner=" + lease.Key().Encode() + " msg=\"" + r.error().msg + "\"");
}

}  // namespace vmip
