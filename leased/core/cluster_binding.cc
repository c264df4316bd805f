// Cluster mode: the ADD path asks the cluster store (etcd) who owns what before
// anything is committed locally. (DEL-side changes: cluster_sync.cc.)

#include "decision_log.h"
#include "lease_service.h"

namespace vmip {
namespace {

constexpr int kClaimAttempts = 16;

std::vector<std::string> IpsOf(const std::vector<AddressRow>& addrs) {
  std::vector<std::string> out;
  for (const auto& a : addrs) out.push_back(a.ip);
  return out;
}

}  // namespace

std::string OwnerKey(const LeaseRow& lease) {
  return lease.owner_kind + ":" + lease.owner + "#" + lease.ifname;
}

std::string OwnerKey(const Owner& owner, const std::string& ifname) {
  return owner.KindName() + ":" + owner.name + "#" + ifname;
}

std::string AttachmentKey(const std::string& container_id, const std::string& ifname) {
  return container_id + "#" + ifname;
}

// Loads the addresses other nodes bound, once per network and start.
Error LeaseService::SyncFromCluster(Network& net) {
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
Result<LeaseRow> LeaseService::Adopt(Network& net, const v1::Caller& c, const Owner& owner,
                                     int64_t now, const ClusterBinding& binding,
                                     std::vector<AddressRow>* fresh) {
  std::vector<AddressRow> addrs;
  for (const std::string& text : binding.ips) {
    auto ip = ParseIp(text);
    int set = ip ? net.pool->SetContaining(*ip) : -1;
    if (set < 0)
      return MakeError(kBoundOutsidePool, owner.Describe() + " is bound in the cluster to " + text +
                                              ", which network " + c.network() +
                                              " here does not contain");
    auto holder = store_->FindHolder(c.network(), text);
    if (!holder.ok()) return holder.error();
    if (holder.value())
      return MakeError(kAddressHeld, "address " + text + " of " + owner.Describe() +
                                         " is still held on this node by " +
                                         holder.value()->owner_kind + " " + holder.value()->owner);
    addrs.push_back(AddressRow{set, text});
  }
  // The binding becomes this node's: the old holder's copy, a late release or a
  // stale node can no longer remove it (they name the old version).
  int64_t revision = binding.revision;
  if (binding.node != node_) {
    auto taken = cluster_->TakeOver(c.network(), OwnerKey(owner, c.ifname()), binding);
    if (!taken.ok()) return taken.error();
    revision = taken.value();
  }
  Log(LogLevel::kInfo, "op=adopt network=" + c.network() + " owner=" + owner.Describe() +
                           " from_node=" + binding.node);
  std::string tag = owner.KindName() + ":" + owner.name;
  std::string first_ip = addrs.empty() ? "" : addrs[0].ip;
  Error e = store_->AppendEvent(
      EventRow{now, c.network(), "adopt", tag, first_ip, c.container_id(), c.ifname(), node_});
  if (e.code) return e;
  if (binding.node != node_) QueueHandoff(c, tag + "#" + c.ifname(), first_ip, binding.node);
  *fresh = addrs;
  return NewLease(net, c, owner, now, addrs, revision);
}

// Tells the node a binding was taken from, once this ADD commits.
void LeaseService::QueueHandoff(const v1::Caller& c, const std::string& owner_key,
                                const std::string& ip, const std::string& from_node) {
  v1::HandoffNotice n;
  n.set_network(c.network());
  n.set_owner(owner_key);
  n.set_ip(ip);
  n.set_from_node(from_node);
  n.set_to_node(node_);
  n.set_container_id(c.container_id());
  uncommitted_notices_.push_back(n);
}

Error LeaseService::Reclaim(const v1::Caller& c, const std::string& key,
                            const ClusterBinding& binding, LeaseRow* lease) {
  int64_t revision = binding.revision;
  if (binding.node != node_) {
    auto taken = cluster_->TakeOver(c.network(), key, binding);
    if (!taken.ok()) return taken.error();
    revision = taken.value();
    Log(LogLevel::kInfo,
        "op=reclaim network=" + c.network() + " owner=" + key + " from_node=" + binding.node);
    QueueHandoff(c, key, lease->addresses.empty() ? "" : lease->addresses[0].ip, binding.node);
  }
  if (!lease->handed_to.empty())
    if (Error e = store_->SetHandedTo(lease->id, ""); e.code) return e;
  lease->handed_to.clear();
  if (revision != lease->cluster_revision)
    if (Error e = store_->SetClusterRevision(lease->id, revision); e.code) return e;
  lease->cluster_revision = revision;
  return Error{};
}

Result<LeaseRow> LeaseService::ClusteredLease(Network& net, const v1::Caller& c, const Owner& owner,
                                              int64_t now, const std::vector<IpAddress>& requested,
                                              std::optional<LeaseRow> lease,
                                              std::vector<AddressRow>* fresh, bool* claimed) {
  if (!c.reservation().empty())
    return MakeError(kInvalidConfig, "reservations are not supported in cluster mode yet");
  if (Error e = SyncFromCluster(net); e.code) return e;
  std::string key = OwnerKey(owner, c.ifname());
  auto binding = cluster_->FindBinding(c.network(), key);
  if (!binding.ok()) return binding.error();
  if (lease && !binding.value()) {
    // Bound here but unknown to the cluster (bound before cluster mode, or
    // released elsewhere): claim the same addresses again, or refuse.
    auto claim = cluster_->Claim(c.network(), key, ClusterBinding{IpsOf(lease->addresses), node_});
    if (!claim.ok()) return claim.error();
    if (!claim.value().taken_ip.empty())
      return MakeError(kAddressHeld, "address " + claim.value().taken_ip + " of " +
                                         owner.Describe() +
                                         " is bound to another owner in the cluster");
    if (claim.value().existing) binding.value() = claim.value().existing;
    if (claim.value().claimed) {
      binding.value() = ClusterBinding{IpsOf(lease->addresses), node_, claim.value().revision};
      *claimed = true;
    }
  }
  if (lease && binding.value() && binding.value()->ips != IpsOf(lease->addresses)) {
    Log(LogLevel::kWarn, "op=add owner=" + owner.Describe() +
                             " msg=\"local lease differs from the cluster; cluster wins\"");
    if (Error e = store_->DeleteLease(lease->id); e.code) return e;
    lease.reset();
  }
  if (lease) {
    if (Error e = CheckLeaseFits(net, *lease, requested); e.code) return e;
    if (Error e = Reclaim(c, key, *binding.value(), &*lease); e.code) return e;
    return *lease;
  }
  if (binding.value()) {
    auto adopted = Adopt(net, c, owner, now, *binding.value(), fresh);
    if (adopted.ok())
      if (Error e = CheckLeaseFits(net, adopted.value(), requested); e.code) return e;
    return adopted;
  }
  for (int attempt = 0; attempt < kClaimAttempts; attempt++) {
    auto picked = PickAddresses(net, requested);
    if (!picked.ok()) return picked.error();
    auto claim = cluster_->Claim(c.network(), key, ClusterBinding{IpsOf(picked.value()), node_});
    if (!claim.ok()) return claim.error();
    if (claim.value().claimed) {
      *fresh = picked.value();
      *claimed = true;
      return NewLease(net, c, owner, now, *fresh, claim.value().revision);
    }
    if (claim.value().existing) return Adopt(net, c, owner, now, *claim.value().existing, fresh);
    auto ip = ParseIp(claim.value().taken_ip);
    if (!ip) break;
    net.allocator->MarkRemote(*ip);
    int set = net.pool->SetContaining(*ip);
    if (set >= 0 && requested[set] == *ip)
      return MakeError(kAddressHeld, "address " + ip->ToString() + " on network " + c.network() +
                                         " is held by another owner in the cluster");
  }
  return MakeError(kTryAgainLater, "no address could be claimed in the cluster after " +
                                       std::to_string(kClaimAttempts) + " attempts");
}

// The local commit failed after a claim: give the claim back so nothing leaks.
void LeaseService::UnclaimAfterFailure(const LeaseRow& lease) {
  auto r = cluster_->Release(lease.network, OwnerKey(lease), IpsOf(lease.addresses),
                             lease.cluster_revision);
  if (!r.ok())
    Log(LogLevel::kError, "op=unclaim owner=" + OwnerKey(lease) + " msg=\"" + r.error().msg + "\"");
}

}  // namespace vmip
