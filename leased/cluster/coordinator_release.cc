// Cluster mode `vmipctl release`: "is the VM attached?" is a cluster-wide question.
// A VM running on another node is never released here, --force or not; the
// cluster binding goes first, in one compare-and-swap on the version just read and
// on "no attachment appeared since", then this node's copy.
#include <set>

#include "cluster_store_coordinator.h"
#include "decision_log.h"
#include "reply_error.h"
#include "store_transaction.h"

namespace vmip {
namespace {

constexpr int kReleaseAttempts = 5;

std::string ContainerOf(const std::string& attachment) {
  return attachment.substr(0, attachment.rfind('#'));
}

// Refuses while any attachment of the VM is live: on another node always, on this
// node unless force (the operator says the VM is gone and its pods are leftovers).
Error RefuseWhileAttached(const v1::ReleaseRequest& req, const std::string& self,
                          const std::string& owner_prefix, const ClusterAttachments& atts) {
  for (const ClusterAttachment& a : atts.list) {
    if (a.owner.compare(0, owner_prefix.size(), owner_prefix) != 0) continue;
    std::string where = "container " + ContainerOf(a.attachment) + " on node " + a.node +
                        " (network " + a.network + ")";
    if (a.node != self)
      return MakeError(kLeaseAttached,
                       "VM " + req.vm() + " is attached to " + where +
                           ": its address is in use there; --force cannot free an address that "
                           "a live attachment on another node uses");
    if (!req.force())
      return MakeError(kLeaseAttached, "VM " + req.vm() + " is attached to " + where +
                                           "; stop the VM first or use --force");
  }
  return Error{};
}

}  // namespace

v1::ReleaseReply ClusterStoreCoordinator::Release(const v1::ReleaseRequest& req) {
  const std::string prefix = OwnerKey{OwnerKind::kVm, req.vm(), ""}.Encode();  // "vm:<vm>#"
  for (int attempt = 0; attempt < kReleaseAttempts; attempt++) {
    // Quorum reads outside the lock; the compare-and-swap below re-checks them.
    auto bindings = cluster_->BindingsOf(req.network(), prefix);
    if (!bindings.ok()) return WithError<v1::ReleaseReply>(bindings.error());
    auto atts = cluster_->Attachments(req.network());
    if (!atts.ok()) return WithError<v1::ReleaseReply>(atts.error());
    if (Error e = RefuseWhileAttached(req, svc_.node_, prefix, atts.value()); e.code)
      return WithError<v1::ReleaseReply>(e);

    std::lock_guard<std::mutex> lock(svc_.mu_);
    Transaction txn(svc_.store_);  // its reads below come before the transaction begins
    auto leases = svc_.store_->LeasesOf(req.network(), OwnerKind::kVm, req.vm());
    if (!leases.ok()) return WithError<v1::ReleaseReply>(leases.error());
    if (leases.value().empty() && bindings.value().empty())
      return WithError<v1::ReleaseReply>(
          MakeError(kNoLease, "VM " + req.vm() + " holds no lease in the cluster" +
                                  (req.network().empty() ? "" : " on network " + req.network())));
    for (const LeaseRow& l : leases.value()) {  // refuse before anything is deleted
      auto local = svc_.store_->AttachmentsOf(l.id);
      if (!local.ok()) return WithError<v1::ReleaseReply>(local.error());
      if (!local.value().empty() && !req.force())
        return WithError<v1::ReleaseReply>(MakeError(
            kLeaseAttached, "VM " + req.vm() + " is attached to container " +
                                local.value()[0].container_id + " on node " + svc_.node_ +
                                " (network " + l.network + "); stop the VM first or use --force"));
    }
    std::set<std::string> ips;
    bool changed = false;
    for (const OwnedBinding& b : bindings.value()) {
      auto r = cluster_->Release(b.network, b.owner, b.binding.ips, b.binding.revision,
                                 atts.value().revision);
      if (!r.ok()) return WithError<v1::ReleaseReply>(r.error());
      changed = r.value() == ReleaseOutcome::kChanged;
      if (changed) break;  // an ADD somewhere meanwhile: look again
      auto in_flight = svc_.binding_adds_.find(BindingLockKey(b.network, b.owner));
      if (in_flight != svc_.binding_adds_.end()) in_flight->second = true;  // its step 3 refuses
      ips.insert(b.binding.ips.begin(), b.binding.ips.end());
    }
    if (changed) continue;

    std::vector<Released> released;
    Error e = txn.Begin();
    if (!e.code)
      e = svc_.ReleaseLocal(leases.value(), req.force(), /*queue_cluster=*/false, &released);
    if (!e.code) e = txn.Commit();
    if (e.code) {
      Log(LogLevel::kError, "op=release vm=" + req.vm() +
                                " msg=\"released in the cluster, local copy kept: " + e.msg + "\"");
      return WithError<v1::ReleaseReply>(e);
    }
    svc_.ApplyReleased(released, ReleaseReason::kByHand);
    for (const LeaseRow& l : leases.value())
      for (const AddressRow& a : l.addresses) ips.insert(a.ip);
    v1::ReleaseReply reply;
    for (const std::string& ip : ips) reply.add_ips(ip);
    Log(LogLevel::kInfo, "op=release vm=" + req.vm() +
                             " cluster_bindings=" + std::to_string(bindings.value().size()) +
                             " addresses=" + std::to_string(reply.ips_size()));
    return reply;
  }
  return WithError<v1::ReleaseReply>(
      MakeError(kTryAgainLater, "VM " + req.vm() + "'s bindings kept changing while releasing (" +
                                    std::to_string(kReleaseAttempts) + " attempts); try again"));
}

}  // namespace vmip
