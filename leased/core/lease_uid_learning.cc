// Kubernetes mode: a VM lease made while the API server could not be asked was named by
// the virt-launcher pod-name rule and has no UID, so no deletion can ever be matched to
// it. Once a complete, healthy list shows a VM (or a VMI without a VM) of that name, its
// UID is recorded here with a uid-learned history event, and the usual deletion rules
// apply from then on. Only name-rule leases without a UID are touched: a lease named by
// args.cni.vm stays the operator's, and a lease that has a UID keeps it.
#include "decision_log.h"
#include "lease_service.h"
#include "store_transaction.h"

namespace vmip {

Result<std::vector<std::string>> LeaseService::VmsWithoutUid() {
  return View([](LeaseStore* s, ReadSession&) { return s->VmsWithoutUid(kSourcePodName); });
}

Error LeaseService::LearnOwnerUid(const std::string& owner, const std::string& uid) {
  if (uid.empty()) return MakeError(kInvalidConfig, "no UID to record for vm:" + owner);
  if (coordinator_->clustered())
    return MakeError(kInvalidConfig, "UID learning is standalone-only for now");
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(store_);
  Error e = txn.Begin();
  if (e.code) return e;
  auto leases = store_->LeasesOf("", OwnerKind::kVm, owner);
  if (!leases.ok()) return leases.error();
  std::string networks;
  int64_t now = clock_();
  for (const LeaseRow& l : leases.value()) {
    // Compared again here, in the transaction: an ADD may have set a UID meanwhile.
    if (!l.owner_uid.empty() || l.identity_source != kSourcePodName) continue;
    std::string ip = l.addresses.empty() ? "" : l.addresses[0].ip;
    e = store_->SetOwnerUid(l.id, uid, l.identity_source);
    if (!e.code)
      e = store_->AppendEvent(
          EventRow{now, l.network, EventKind::kUidLearned, l.Key().Tag(), ip, "", l.ifname, node_});
    if (e.code) return e;
    networks += (networks.empty() ? "" : ",") + l.network;
  }
  if (networks.empty()) return Error{};  // the transaction rolls back empty
  if (e = txn.Commit(); e.code) return e;
  Log(LogLevel::kInfo, "op=uid-learned" + Field("owner", "vm:" + owner) + Field("uid", uid) +
                           Field("networks", networks));
  return Error{};
}

}  // namespace vmip
