// Cluster mode: the ADD path asks the cluster store (etcd) who owns what before
// anything is committed locally, and DEL-side changes reach etcd through an outbox.
#include <set>

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

std::vector<std::string> Split(const std::string& csv) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string::npos) comma = csv.size();
    out.push_back(csv.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string OwnerKey(const LeaseRow& lease) {
  return lease.owner_kind + ":" + lease.owner + "#" + lease.ifname;
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
    if (auto holder = store_->FindHolder(c.network(), text))
      return MakeError(kAddressHeld, "address " + text + " of " + owner.Describe() +
                                         " is still held on this node by " + holder->owner_kind +
                                         " " + holder->owner);
    addrs.push_back(AddressRow{set, text});
  }
  Log(LogLevel::kInfo, "op=adopt network=" + c.network() + " owner=" + owner.Describe() +
                           " from_node=" + binding.node);
  std::string tag = owner.KindName() + ":" + owner.name;
  std::string first_ip = addrs.empty() ? "" : addrs[0].ip;
  Error e = store_->AppendEvent(
      EventRow{now, c.network(), "adopt", tag, first_ip, c.container_id(), c.ifname(), node_});
  if (e.code) return e;
  if (binding.node != node_) {
    v1::HandoffNotice n;
    n.set_network(c.network());
    n.set_owner(tag + "#" + c.ifname());
    n.set_ip(first_ip);
    n.set_from_node(binding.node);
    n.set_to_node(node_);
    n.set_container_id(c.container_id());
    notices_.push_back(n);
  }
  *fresh = addrs;
  return NewLease(net, c, owner, now, addrs);
}

Result<LeaseRow> LeaseService::ClusteredLease(Network& net, const v1::Caller& c, const Owner& owner,
                                              int64_t now, const std::vector<IpAddress>& requested,
                                              std::optional<LeaseRow> lease,
                                              std::vector<AddressRow>* fresh, bool* claimed) {
  if (!c.reservation().empty())
    return MakeError(kInvalidConfig, "reservations are not supported in cluster mode yet");
  if (Error e = SyncFromCluster(net); e.code) return e;
  std::string key = owner.KindName() + ":" + owner.name + "#" + c.ifname();
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
  }
  if (lease && binding.value() && binding.value()->ips != IpsOf(lease->addresses)) {
    Log(LogLevel::kWarn, "op=add owner=" + owner.Describe() +
                             " msg=\"local lease differs from the cluster; cluster wins\"");
    if (Error e = store_->DeleteLease(lease->id); e.code) return e;
    lease.reset();
  }
  if (lease) {
    if (Error e = CheckLeaseFits(net, *lease, requested); e.code) return e;
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
      return NewLease(net, c, owner, now, *fresh);
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
  if (Error e = cluster_->Release(lease.network, OwnerKey(lease), IpsOf(lease.addresses)); e.code)
    Log(LogLevel::kError, "op=unclaim owner=" + OwnerKey(lease) + " msg=\"" + e.msg + "\"");
}

Error LeaseService::ResyncAttachments() {
  std::vector<std::pair<AttachmentRow, std::string>> todo;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto leases = store_->ListLeases("");
    auto atts = store_->ListAttachments("");
    store_->Idle();
    if (!leases.ok()) return leases.error();
    if (!atts.ok()) return atts.error();
    std::map<int64_t, std::string> owner_of;
    for (const auto& l : leases.value()) owner_of[l.id] = OwnerKey(l);
    for (const auto& a : atts.value()) todo.push_back({a, owner_of[a.lease_id]});
  }
  for (const auto& [a, owner] : todo)
    if (Error e = cluster_->Attach(a.network, AttachmentKey(a.container_id, a.ifname), owner);
        e.code)
      return e;
  return Error{};
}

void LeaseService::RefreshRemote() {
  if (!cluster_) return;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, net] : networks_) names.push_back(name);
  }
  for (const std::string& name : names) {
    auto bound = cluster_->BoundAddresses(name);  // outside the lock: a quorum read
    if (!bound.ok()) return;
    std::set<IpAddress> held;
    for (const std::string& text : bound.value())
      if (auto ip = ParseIp(text)) held.insert(*ip);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = networks_.find(name);
    if (it == networks_.end()) continue;
    it->second->allocator->ReplaceRemote(held, clock_());
    it->second->cluster_synced = true;
  }
}

void LeaseService::RecordHandoff(const v1::HandoffNotice& n) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string owner = n.owner().substr(0, n.owner().rfind('#'));
  std::string ifname =
      n.owner().rfind('#') == std::string::npos ? "" : n.owner().substr(n.owner().rfind('#') + 1);
  Error e = store_->AppendEvent(EventRow{clock_(), n.network(), "handoff", owner, n.ip(),
                                         n.container_id(), ifname, n.to_node()});
  store_->Idle();
  Log(e.code ? LogLevel::kError : LogLevel::kInfo,
      "op=handoff network=" + n.network() + " owner=" + owner + " to_node=" + n.to_node());
}

void LeaseService::FlushOutbox() {
  if (!cluster_) return;
  std::vector<v1::HandoffNotice> notices;
  {
    std::lock_guard<std::mutex> lock(mu_);
    notices.swap(notices_);
  }
  if (peers_)
    for (const auto& n : notices) peers_->SendHandoff(n);
  if (resync_needed_ && !ResyncAttachments().code) resync_needed_ = false;
  std::vector<OutboxRow> rows;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto r = store_->Outbox(256);
    store_->Idle();
    if (!r.ok()) return;
    rows = r.value();
  }
  std::vector<int64_t> done;
  for (const OutboxRow& row : rows) {
    Error e = row.op == "detach" ? cluster_->Detach(row.network, row.key)
                                 : cluster_->Release(row.network, row.key, Split(row.value));
    if (e.code) break;  // etcd unreachable: keep the rest, in order, for later
    done.push_back(row.id);
  }
  if (done.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (int64_t id : done) store_->DeleteOutbox(id);
  store_->Idle();
  Log(LogLevel::kDebug, "op=outbox applied=" + std::to_string(done.size()));
}

}  // namespace vmip
