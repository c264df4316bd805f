// Kubernetes mode: an owner the API server no longer has (VM deleted, StatefulSet
// deleted or scaled below the pod's ordinal) gives its addresses back. Only leases
// whose stored UID is the gone object's are touched (a VM re-created under the same
// name is another owner), only detached ones, and the reason goes into the history.
//
// In cluster mode (the elected daemon's verdict, applied by every node to its own
// leases) a lease goes only from its binding's node of record, while no node holds
// an attachment of it, through the same conditional etcd release as expiry: the
// binding must still be the version read and no attachment may have appeared since.
#include <algorithm>

#include "decision_log.h"
#include "gone_owner_board.h"
#include "lease_service.h"
#include "store_transaction.h"

namespace vmip {
namespace {

void LogReleased(OwnerKind kind, const std::string& owner, const std::string& uid, EventKind reason,
                 const std::string& ips) {
  Log(LogLevel::kInfo, "op=release" + Field("owner", OwnerKey{kind, owner, ""}.Tag()) +
                           Field("uid", uid) + Field("reason", EventKindName(reason)) +
                           Field("released", ips));
}

}  // namespace

Result<std::vector<OwnerUid>> LeaseService::OwnerUids() {
  auto rows = View([](LeaseStore* s, ReadSession&) { return s->OwnerUids(); });
  if (!rows.ok()) return rows.error();
  // Sorted and without repeats after the read: a VM with several interfaces or
  // networks has a lease each.
  std::vector<OwnerUid> out;
  out.reserve(rows.value().size());
  for (OwnerUidRow& r : rows.value())
    out.push_back(OwnerUid{OwnerKindName(r.kind), std::move(r.owner), std::move(r.uid)});
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Error LeaseService::ReleaseGone(OwnerKind kind, const std::string& owner, const std::string& uid,
                                EventKind reason) {
  if (uid.empty()) return MakeError(kInvalidConfig, "release of a gone owner needs its UID");
  if (coordinator_->clustered()) return ReleaseGoneInCluster(kind, owner, uid, reason);
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(store_);
  Error e = txn.Begin();
  if (e.code) return e;
  auto leases = store_->LeasesOf("", kind, owner);
  if (!leases.ok()) return leases.error();
  std::vector<Released> released;
  bool changed = false;
  int64_t now = clock_();
  for (const LeaseRow& l : leases.value()) {
    if (l.owner_uid != uid) continue;  // another object with that name
    auto atts = store_->AttachmentsOf(l.id);
    if (!atts.ok()) return atts.error();
    if (!atts.value().empty()) continue;  // a pod still uses it: its DEL comes first
    std::string ip = l.addresses.empty() ? "" : l.addresses[0].ip;
    e = store_->AppendEvent(
        EventRow{now, l.network, reason, l.Key().Tag(), ip, "", l.ifname, node_});
    if (!e.code) e = FreeLease(l, "", &released);
    if (e.code) return e;
    changed = true;
  }
  if (!changed) return Error{};  // the transaction rolls back empty
  if (e = txn.Commit(); e.code) return e;
  ApplyReleased(released, ReleaseReason::kVmDeleted);
  LogReleased(kind, owner, uid, reason, IpsOf(released));
  return Error{};
}

Error LeaseService::ReleaseClusterBinding(const LeaseRow& seen, const ExpiryClearance& clearance) {
  auto released = coordinator_->ReleaseExpired(seen, clearance);
  if (!released.ok()) return released.error();
  if (!released.value())
    return MakeError(kLeaseMismatch, "its cluster binding changed or an attachment appeared");
  return Error{};
}

Error LeaseService::ReleaseGoneInCluster(OwnerKind kind, const std::string& owner,
                                         const std::string& uid, EventKind reason) {
  std::vector<LeaseRow> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReadSession session(store_);
    auto leases = store_->LeasesOf("", kind, owner);
    if (!leases.ok()) return leases.error();
    for (const LeaseRow& l : leases.value())
      if (l.owner_uid == uid && l.handed_to.empty()) due.push_back(l);
  }
  for (const LeaseRow& seen : due) {
    std::string what = "op=release-gone" + Field("network", seen.network) +
                       Field("owner", seen.Key().Encode()) + Field("uid", uid);
    // Quorum reads outside the lock; the conditional release below re-checks them.
    auto clearance = coordinator_->ClearExpiry(seen);
    if (!clearance.ok()) return clearance.error();
    if (clearance.value().verdict != ExpiryClearance::Verdict::kMayExpire) {
      Log(LogLevel::kDebug,
          what + " skipped=\"" +
              (clearance.value().verdict == ExpiryClearance::Verdict::kAttachedElsewhere
                   ? "attached on node " + clearance.value().detail
                   : clearance.value().detail) +
              "\"");
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    Transaction txn(store_);  // its reads below come before the transaction begins
    Error e = StillDetached(seen, /*ttl=*/0);
    if (!e.code) {
      auto now = store_->FindLeaseById(seen.id);  // StillDetached does not compare the UID
      if (!now.ok()) e = now.error();
      if (!e.code && (!now.value() || now.value()->owner_uid != uid))
        e = MakeError(kLeaseMismatch, "another object with that name holds it now");
    }
    if (!e.code) e = ReleaseClusterBinding(seen, clearance.value());
    std::vector<Released> released;
    if (!e.code) e = txn.Begin();
    std::string ip = seen.addresses.empty() ? "" : seen.addresses[0].ip;
    if (!e.code)
      e = store_->AppendEvent(
          EventRow{clock_(), seen.network, reason, seen.Key().Tag(), ip, "", seen.ifname, node_});
    // The cluster release happened above: nothing to queue.
    if (!e.code) e = FreeLease(seen, "", &released, /*queue_cluster_release=*/false);
    if (!e.code) e = txn.Commit();
    if (e.code) {
      Log(e.code == kLeaseMismatch ? LogLevel::kDebug : LogLevel::kError,
          what + " skipped=\"" + e.msg + "\"");
      continue;
    }
    ApplyReleased(released, ReleaseReason::kVmDeleted);
    LogReleased(kind, owner, uid, reason, IpsOf(released));
  }
  return Error{};
}

}  // namespace vmip
