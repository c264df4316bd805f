// Kubernetes mode: an owner the API server no longer has (VM deleted, StatefulSet
// deleted or scaled below the pod's ordinal) gives its addresses back. Only leases
// whose stored UID is the gone object's are touched (a VM re-created under the same
// name is another owner), only detached ones, and the reason goes into the history.
#include "decision_log.h"
#include "lease_service.h"
#include "store_transaction.h"

namespace vmip {

Error LeaseService::ReleaseGone(OwnerKind kind, const std::string& owner, const std::string& uid,
                                EventKind reason) {
  if (coordinator_->clustered())
    return MakeError(kInvalidConfig, "release of deleted owners is standalone-only for now");
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
    if (uid.empty() || l.owner_uid != uid) continue;  // another object with that name
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
  std::string ips;
  for (const Released& r : released) ips += (ips.empty() ? "" : ",") + r.ip.ToString();
  Log(LogLevel::kInfo, "op=release" + Field("owner", OwnerKey{kind, owner, ""}.Tag()) +
                           Field("uid", uid) + Field("reason", EventKindName(reason)) +
                           Field("released", ips));
  return Error{};
}

}  // namespace vmip
