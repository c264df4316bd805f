// The read-only views vmipctl shows: leases, pools, daemon status.
#include <algorithm>
#include <map>

#include "lease_service.h"
#include "reply_error.h"
#include "store_transaction.h"

namespace vmip {
namespace {

// Filters compare the database's text form: "FD00::0002" matches "fd00::2".
std::string Canonical(const std::string& ip) {
  auto a = ParseIp(ip);
  return a ? a->ToString() : ip;
}

bool Matches(const v1::LeaseFilter& f, const v1::Lease& l) {
  if (!f.network().empty() && f.network() != l.network()) return false;
  if (!f.state().empty() && f.state() != l.state()) return false;
  size_t slash = l.owner().find('/');
  bool is_vm = l.owner_kind() == "vm" && slash != std::string::npos;
  if (!f.namespace_().empty() && (!is_vm || l.owner().substr(0, slash) != f.namespace_()))
    return false;
  if (!f.vm().empty()) {
    std::string want =
        f.vm().find('/') == std::string::npos ? f.vm() : f.vm().substr(f.vm().find('/') + 1);
    if (!is_vm || l.owner().substr(slash + 1) != want) return false;
    if (f.vm().find('/') != std::string::npos && l.owner() != f.vm()) return false;
  }
  if (!f.owner().empty() && f.owner() != l.owner()) return false;
  if (!f.ip().empty()) {
    bool holds = false;
    for (const auto& ip : l.ips()) holds |= ip == Canonical(f.ip());
    if (!holds) return false;
  }
  if (!f.node().empty()) {
    bool on_node = false;
    for (const auto& a : l.attachments()) on_node |= a.node() == f.node();
    if (!on_node) return false;
  }
  return true;
}

}  // namespace

v1::ListLeasesReply LeaseService::ListLeases(const v1::ListLeasesRequest& req) {
  const std::string& network = req.filter().network();
  // One read transaction for both, so they show the same commit.
  auto [leases, atts] = View([&](LeaseStore* s, ReadSession& session) {
    Error e = session.Snapshot();
    auto l = s->ListLeases(network);
    auto a = s->ListAttachments(network);
    if (e.code) l = e;
    return std::make_pair(std::move(l), std::move(a));
  });
  if (!leases.ok()) return WithError<v1::ListLeasesReply>(leases.error());
  if (!atts.ok()) return WithError<v1::ListLeasesReply>(atts.error());
  std::multimap<int64_t, const AttachmentRow*> by_lease;
  for (const auto& a : atts.value()) by_lease.insert({a.lease_id, &a});
  v1::ListLeasesReply reply;
  for (const LeaseRow& row : leases.value()) {
    v1::Lease l;
    l.set_network(row.network);
    l.set_owner_kind(OwnerKindName(row.owner_kind));
    l.set_owner(row.owner);
    l.set_ifname(row.ifname);
    l.set_created_at(row.created_at);
    l.set_reported_by(node_);
    l.set_owner_uid(row.owner_uid);
    l.set_identity_source(row.identity_source);
    l.set_detached_at(std::max<int64_t>(row.detached_at, 0));  // not kAttachedElsewhere
    for (const auto& a : row.addresses) l.add_ips(a.ip);
    auto [lo, hi] = by_lease.equal_range(row.id);
    for (auto it = lo; it != hi; ++it) {
      v1::Attachment* a = l.add_attachments();
      a->set_container_id(it->second->container_id);
      a->set_ifname(it->second->ifname);
      a->set_netns(it->second->netns);
      a->set_node(it->second->node);
      a->set_attached_at(it->second->attached_at);
    }
    l.set_state(l.attachments().empty() ? "detached" : "attached");
    if (Matches(req.filter(), l)) *reply.add_leases() = std::move(l);
  }
  return reply;
}

v1::ListPoolsReply LeaseService::ListPools() {
  std::lock_guard<std::mutex> lock(mu_);
  v1::ListPoolsReply reply;
  for (const auto& [name, net] : networks_) {
    v1::PoolInfo* p = reply.add_pools();
    p->set_network(name);
    p->add_ranges(net->pool->Describe());
    // A range set hands out one address per lease, so the pool can serve as many
    // leases as its smallest range set holds.
    uint64_t size = UINT64_MAX, used = 0;
    for (size_t s = 0; s < net->pool->sets().size(); s++) {
      size = std::min(size, net->pool->Size(static_cast<int>(s)));
      used = std::max(used, net->allocator->Used(static_cast<int>(s)));
    }
    p->set_size(size);
    p->set_used(used);
    p->set_free(size > used ? size - used : 0);
    uint64_t in_range = 0;
    for (size_t s = 0; s < net->pool->sets().size(); s++)
      in_range += net->allocator->Used(static_cast<int>(s));
    p->set_out_of_range(net->allocator->TakenCount() - in_range);
  }
  return reply;
}

v1::DaemonStatusReply LeaseService::DaemonStatus(bool check_ready) {
  // Outside the lock: an unreachable etcd must not stall ADDs for a probe.
  if (check_ready)
    if (Error e = coordinator_->CheckReachable(); e.code)
      return WithError<v1::DaemonStatusReply>(
          MakeError(kTryAgainLater, "not ready: the cluster store is unreachable: " + e.msg));
  std::lock_guard<std::mutex> lock(mu_);
  v1::DaemonStatusReply reply;
  reply.set_version(VMIP_VERSION);
  reply.set_node(node_);
  reply.set_schema_version(store_->schema_version());
  reply.set_started_at(started_at_);
  ReadSession session(store_);
  auto leases = store_->Count("leases");
  auto atts = store_->Count("attachments");
  if (!leases.ok()) return WithError<v1::DaemonStatusReply>(leases.error());
  if (!atts.ok()) return WithError<v1::DaemonStatusReply>(atts.error());
  reply.set_leases(leases.value());
  reply.set_attachments(atts.value());
  reply.set_pools(networks_.size());
  return reply;
}

}  // namespace vmip

namespace vmip {

v1::HistoryReply LeaseService::History(const v1::HistoryRequest& req) {
  int64_t limit = req.limit() ? req.limit() : 100;
  auto [events, oldest] = View([&](LeaseStore* s, ReadSession& session) {
    Error e = session.Snapshot();
    auto ev = s->Events(req.network(), req.vm().empty() ? "" : "vm:" + req.vm(),
                        req.ip().empty() ? "" : Canonical(req.ip()), limit);
    if (e.code) ev = e;
    return std::make_pair(std::move(ev), s->OldestEventAt());
  });
  if (!events.ok()) return WithError<v1::HistoryReply>(events.error());
  if (!oldest.ok()) return WithError<v1::HistoryReply>(oldest.error());
  v1::HistoryReply reply;
  reply.set_oldest_at(oldest.value());
  reply.set_retention_seconds(history_retention_);
  for (const EventRow& e : events.value()) {
    v1::Event* out = reply.add_events();
    out->set_at(e.at);
    out->set_network(e.network);
    out->set_kind(EventKindName(e.kind));
    out->set_owner(e.owner);
    out->set_ip(e.ip);
    out->set_container_id(e.container_id);
    out->set_ifname(e.ifname);
    out->set_node(e.node);
  }
  return reply;
}

}  // namespace vmip
