// Cluster mode, what runs beside the requests: the outbox that carries DEL-side
// changes to the cluster store, re-registration of attachments, the address watch,
// and hand-off notices from the node that adopted one of this node's bindings.
#include <cstdlib>
#include <set>

#include "cluster_store_coordinator.h"
#include "decision_log.h"
#include "store_transaction.h"

namespace vmip {
namespace {

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

// "<first> <rest>" -> {first, rest}; no space: {"", all}.
std::pair<std::string, std::string> SplitFirst(const std::string& text) {
  size_t space = text.find(' ');
  if (space == std::string::npos) return {"", text};
  return {text.substr(0, space), text.substr(space + 1)};
}

}  // namespace

// Both rows name the version they remove (the binding's revision, the attachment's
// token): a late replay never removes a newer binding or attachment.
Error ClusterStoreCoordinator::QueueDetach(const AttachmentRow& att, const LeaseRow& lease) {
  return svc_.store_->AddOutbox(OutboxRow{0, OutboxOp::kDetach, att.network,
                                          AttachmentKey(att.container_id, att.ifname),
                                          lease.Key().Encode() + " " + att.cluster_token});
}

Error ClusterStoreCoordinator::QueueRelease(const LeaseRow& lease) {
  std::string ips;
  for (const AddressRow& a : lease.addresses) ips += (ips.empty() ? "" : ",") + a.ip;
  return svc_.store_->AddOutbox(OutboxRow{0, OutboxOp::kRelease, lease.network,
                                          lease.Key().Encode(),
                                          std::to_string(lease.cluster_revision) + " " + ips});
}

Error ClusterStoreCoordinator::CheckReachable() {
  auto nodes = cluster_->Nodes();
  return nodes.ok() ? Error{} : nodes.error();
}

Error ClusterStoreCoordinator::ResyncAttachments() {
  std::vector<std::pair<AttachmentRow, std::string>> todo;
  {
    std::lock_guard<std::mutex> lock(svc_.mu_);
    ReadSession session(svc_.store_);
    auto leases = svc_.store_->ListLeases("");
    auto atts = svc_.store_->ListAttachments("");
    if (!leases.ok()) return leases.error();
    if (!atts.ok()) return atts.error();
    std::map<int64_t, std::string> owner_of;
    for (const auto& l : leases.value()) owner_of[l.id] = l.Key().Encode();
    for (const auto& a : atts.value()) todo.push_back({a, owner_of[a.lease_id]});
  }
  for (const auto& [a, owner] : todo)
    if (Error e = cluster_->Reattach(a.network, AttachmentKey(a.container_id, a.ifname), owner,
                                     a.cluster_token);
        e.code)
      return e;
  return Error{};
}

void ClusterStoreCoordinator::RefreshRemote() {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(svc_.mu_);
    for (const auto& [name, net] : svc_.networks_) names.push_back(name);
  }
  for (const std::string& name : names) {
    auto bound = cluster_->BoundAddresses(name);  // outside the lock: a quorum read
    if (!bound.ok()) return;
    std::set<IpAddress> held;
    for (const std::string& text : bound.value())
      if (auto ip = ParseIp(text)) held.insert(*ip);
    std::lock_guard<std::mutex> lock(svc_.mu_);
    auto it = svc_.networks_.find(name);
    if (it == svc_.networks_.end()) continue;
    ReadSession session(svc_.store_);
    int64_t now = svc_.clock_();
    // Recorded like local releases, so the table and the free sets agree.
    for (const IpAddress& ip : it->second->allocator->ReplaceRemote(held, now))
      if (Error e = svc_.store_->MarkReleased(name, ip.ToString(), now); e.code)
        Log(LogLevel::kError, "op=refresh network=" + name + " msg=\"" + e.msg + "\"");
    it->second->cluster_synced = true;
  }
}

void ClusterStoreCoordinator::Watch() {
  cluster_->WatchAddresses([this](const AddressChange& c) { ApplyAddressChange(c); },
                           [this] { RefreshRemote(); });
}

// Another node bound or freed an address (or this node did: then the free sets
// already know, and the change is a no-op).
void ClusterStoreCoordinator::ApplyAddressChange(const AddressChange& change) {
  std::lock_guard<std::mutex> lock(svc_.mu_);
  auto it = svc_.networks_.find(change.network);
  auto ip = ParseIp(change.ip);
  if (it == svc_.networks_.end() || !ip) return;  // a network's first ADD reads them all
  Allocator& alloc = *it->second->allocator;
  Log(LogLevel::kDebug, "op=watch network=" + change.network + " ip=" + change.ip +
                            (change.bound ? " bound" : " freed"));
  if (change.bound) return alloc.MarkRemote(*ip);
  ReadSession session(svc_.store_);
  Error e;
  if (alloc.taken().count(*ip)) {
    e = DropReleasedElsewhere(change.network, change.ip);
  } else if (alloc.IsTaken(*ip)) {
    // Recorded like a local release, so the table and the free sets agree.
    e = svc_.store_->MarkReleased(change.network, change.ip, svc_.clock_());
    if (!e.code) alloc.ForgetRemote(*ip, svc_.clock_());
  }
  if (e.code)
    Log(LogLevel::kError,
        "op=watch network=" + change.network + " ip=" + change.ip + " msg=\"" + e.msg + "\"");
}

// A detached VM lease here whose binding another node released (`vmipctl release`
// there): this copy is stale and goes too. An attached one is left alone: its
// address is in use here, which an operator must see (vmipctl check).
Error ClusterStoreCoordinator::DropReleasedElsewhere(const std::string& network,
                                                     const std::string& ip) {
  auto holder = svc_.store_->FindHolder(network, ip);
  if (!holder.ok()) return holder.error();
  if (!holder.value()) return Error{};
  const LeaseRow& lease = *holder.value();
  auto left = svc_.store_->CountAttachments(lease.id);
  if (!left.ok()) return left.error();
  if (left.value() > 0)
    return MakeError(kInternal, "the cluster freed " + ip + " while " + lease.DescribeOwner() +
                                    " is attached here");
  std::vector<Released> released;
  Transaction txn(svc_.store_);
  Error e = txn.Begin();
  if (!e.code) e = svc_.FreeLease(lease, "", &released, /*queue_cluster_release=*/false);
  if (!e.code) e = txn.Commit();
  if (e.code) return e;
  svc_.ApplyReleased(released);
  Log(LogLevel::kInfo, "op=drop-copy network=" + network + " owner=" + lease.owner +
                           " msg=\"released elsewhere in the cluster\"");
  return Error{};
}

// The node that adopted this node's binding says so: the copy here goes now, or,
// while a pod here still uses it (live migration), with that pod's DEL.
void ClusterStoreCoordinator::RecordHandoff(const v1::HandoffNotice& n) {
  std::lock_guard<std::mutex> lock(svc_.mu_);
  // nullopt: no owner this node could hold; only the history hears of it.
  auto key = OwnerKey::Decode(n.owner());
  std::string owner = key ? key->Tag() : n.owner().substr(0, n.owner().rfind('#'));
  std::string ifname = key ? key->ifname : "";
  std::vector<Released> released;
  Transaction txn(svc_.store_);
  Error e = txn.Begin();
  if (!e.code)
    e = svc_.store_->AppendEvent(EventRow{svc_.clock_(), n.network(), EventKind::kHandoff, owner,
                                          n.ip(), n.container_id(), ifname, n.to_node()});
  auto lease = key ? svc_.store_->FindLease(n.network(), key->kind, key->name, key->ifname)
                   : Result<std::optional<LeaseRow>>(std::nullopt);
  if (!e.code && !lease.ok()) e = lease.error();
  bool ours = !e.code && lease.value() && !lease.value()->addresses.empty() &&
              lease.value()->addresses[0].ip == n.ip();
  if (ours) {
    auto left = svc_.store_->CountAttachments(lease.value()->id);
    if (!left.ok()) e = left.error();
    if (!e.code && left.value() == 0) e = svc_.DropHandedOver(*lease.value(), &released);
    if (!e.code && left.value() > 0) e = svc_.store_->SetHandedTo(lease.value()->id, n.to_node());
  }
  if (!e.code) e = txn.Commit();
  if (!e.code) svc_.ApplyReleased(released);
  Log(e.code ? LogLevel::kError : LogLevel::kInfo,
      "op=handoff network=" + n.network() + " owner=" + owner + " to_node=" + n.to_node() +
          (ours ? " local_copy=" + std::string(released.empty() ? "kept-until-del" : "dropped")
                : "") +
          (e.code ? " msg=\"" + e.msg + "\"" : ""));
}

Error ClusterStoreCoordinator::ApplyOutboxRow(const OutboxRow& row) {
  if (row.op == OutboxOp::kDetach) {
    auto [owner, token] = SplitFirst(row.value);  // "" from before tokens: this node's key
    return cluster_->Detach(row.network, row.key, owner, token);
  }
  auto [rev_text, ips] = SplitFirst(row.value);
  int64_t revision = rev_text.empty() ? 0 : strtoll(rev_text.c_str(), nullptr, 10);
  if (revision == 0) {
    // Queued before bindings had versions: release only this node's own binding
    // of exactly these addresses, at the version it has now.
    auto b = cluster_->FindBinding(row.network, row.key);
    if (!b.ok()) return b.error();
    if (!b.value()) return Error{};
    if (b.value()->node != svc_.node_ || b.value()->ips != Split(ips))
      return MakeError(kLeaseMismatch, "not releasing " + row.key + ": its binding changed");
    revision = b.value()->revision;
  }
  auto r = cluster_->Release(row.network, row.key, Split(ips), revision);
  if (!r.ok()) return r.error();
  if (r.value() == ReleaseOutcome::kChanged)
    Log(LogLevel::kWarn, "op=outbox release=" + row.key + " revision=" + std::to_string(revision) +
                             " msg=\"a newer binding exists; left alone\"");
  return Error{};
}

void ClusterStoreCoordinator::Flush() {
  std::vector<v1::HandoffNotice> notices;
  {
    std::lock_guard<std::mutex> lock(svc_.mu_);
    notices.swap(notices_);
  }
  if (peers_)
    for (const auto& n : notices) peers_->SendHandoff(n);
  if (resync_needed_ && !ResyncAttachments().code) resync_needed_ = false;
  std::vector<OutboxRow> rows;
  {
    std::lock_guard<std::mutex> lock(svc_.mu_);
    ReadSession session(svc_.store_);
    auto r = svc_.store_->Outbox(256);
    if (!r.ok()) return;
    rows = r.value();
  }
  std::vector<int64_t> done;
  for (const OutboxRow& row : rows) {
    Error e = ApplyOutboxRow(row);
    if (e.code == kTryAgainLater) break;  // etcd unreachable: keep the rest, in order
    if (e.code)                           // never retried: it would fail the same way forever
      Log(LogLevel::kError, "op=outbox " + std::string(OutboxOpName(row.op)) + "=" + row.key +
                                " msg=\"" + e.msg + "\"");
    done.push_back(row.id);
  }
  if (done.empty()) return;
  std::lock_guard<std::mutex> lock(svc_.mu_);
  ReadSession session(svc_.store_);
  for (int64_t id : done)
    if (Error e = svc_.store_->DeleteOutbox(id); e.code) {
      // Applied but still queued: replayed later, which the versions make harmless.
      Log(LogLevel::kError, "op=outbox msg=\"" + e.msg + "\"");
      break;
    }
  Log(LogLevel::kDebug, "op=outbox applied=" + std::to_string(done.size()));
}

}  // namespace vmip
