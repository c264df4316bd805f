// A VM (or StatefulSet pod) deleted and created again under the same name is a new
// owner: Kubernetes gives it a new UID. Its ADD must not inherit the old object's
// address unless it asks for exactly that address.
#include "add_context.h"
#include "decision_log.h"
#include "lease_service.h"

namespace vmip {
namespace {

bool RequestsExactly(const LeaseRow& lease, const std::vector<IpAddress>& requested) {
  if (lease.addresses.size() != requested.size()) return false;
  for (const AddressRow& a : lease.addresses) {
    auto ip = ParseIp(a.ip);
    if (!ip || a.range_set >= static_cast<int>(requested.size()) || requested[a.range_set] != *ip)
      return false;
  }
  return true;
}

}  // namespace

Error LeaseService::ReleaseIfRecreated(const AddContext& ctx, std::vector<Released>* released) {
  const v1::Caller& c = ctx.caller;
  const Owner& owner = ctx.owner;
  if (owner.uid.empty() || owner.kind == OwnerKind::kPod) return Error{};
  auto found = store_->FindLease(c.network(), owner.kind, owner.name, c.ifname());
  if (!found.ok()) return found.error();
  if (!found.value()) return Error{};
  const LeaseRow& lease = *found.value();
  if (lease.owner_uid == owner.uid) return Error{};
  if (lease.owner_uid.empty() || RequestsExactly(lease, ctx.requested))  // first UID seen, or asked
    return store_->SetOwnerUid(lease.id, owner.uid, owner.source);
  if (coordinator_->clustered())
    return MakeError(kTryAgainLater, owner.Describe() + " was re-created (UID " + lease.owner_uid +
                                         " -> " + owner.uid +
                                         "); its old lease is released after the deletion grace");
  auto atts = store_->AttachmentsOf(lease.id);
  if (!atts.ok()) return atts.error();
  if (!atts.value().empty())
    return MakeError(kTryAgainLater, owner.Describe() + " was re-created (UID " + lease.owner_uid +
                                         " -> " + owner.uid + ") while container " +
                                         atts.value()[0].container_id +
                                         " of the old one still holds its address");
  Log(LogLevel::kInfo, "op=recreated" + Field("owner", owner.Describe()) +
                           Field("old_uid", lease.owner_uid) + Field("uid", owner.uid));
  return FreeLease(lease, c.container_id(), released);
}

}  // namespace vmip
