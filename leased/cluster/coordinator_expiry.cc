// Cluster mode expiry of a detached binding (issue 16): only the binding's node of
// record (the node that made or last adopted it) expires it, never while any node
// holds an attachment of it, and through the same conditional etcd release as
// `vmipctl release` (the binding's version and "no attachment appeared since").
#include "cluster_store_coordinator.h"

namespace vmip {

Result<ExpiryClearance> ClusterStoreCoordinator::ClearExpiry(const LeaseRow& lease) {
  std::string key = lease.Key().Encode();
  std::vector<std::string> ips;
  for (const AddressRow& a : lease.addresses) ips.push_back(a.ip);
  auto binding = cluster_->FindBinding(lease.network, key);
  if (!binding.ok()) return binding.error();
  ExpiryClearance out;
  if (!binding.value() || binding.value()->node != svc_.node_ || binding.value()->ips != ips) {
    // Another node adopted it (its hand-off drops this copy), or the cluster no
    // longer binds it (the address watch drops this copy).
    out.verdict = ExpiryClearance::Verdict::kNotHere;
    out.detail =
        binding.value() ? "held by node " + binding.value()->node : "not bound in the cluster";
    return out;
  }
  auto atts = cluster_->Attachments(lease.network);
  if (!atts.ok()) return atts.error();
  for (const ClusterAttachment& a : atts.value().list)
    if (a.owner == key) {
      out.verdict = ExpiryClearance::Verdict::kAttachedElsewhere;
      out.detail = a.node;
      return out;
    }
  out.ips = binding.value()->ips;
  out.binding_revision = binding.value()->revision;
  out.attachments_seen_at = atts.value().revision;
  return out;
}

Result<bool> ClusterStoreCoordinator::ReleaseExpired(const LeaseRow& lease,
                                                     const ExpiryClearance& clearance) {
  auto r = cluster_->Release(lease.network, lease.Key().Encode(), clearance.ips,
                             clearance.binding_revision, clearance.attachments_seen_at);
  if (!r.ok()) return r.error();
  return r.value() != ReleaseOutcome::kChanged;
}

}  // namespace vmip
