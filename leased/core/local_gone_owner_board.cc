#include <set>

#include "gone_owner_board.h"
#include "lease_service.h"

namespace vmip {

Result<std::vector<OwnerUid>> LocalOwnerUids(LeaseService& service) {
  v1::ListLeasesReply leases = service.ListLeases(v1::ListLeasesRequest{});
  std::set<OwnerUid> out;
  if (leases.has_error()) return MakeError(leases.error().code(), leases.error().msg());
  for (const v1::Lease& l : leases.leases()) {
    if ((l.owner_kind() != "vm" && l.owner_kind() != "sts") || l.owner_uid().empty()) continue;
    out.insert(OwnerUid{l.owner_kind(), l.owner(), l.owner_uid()});
  }
  return std::vector<OwnerUid>(out.begin(), out.end());
}

std::string LocalGoneOwnerBoard::leader() {
  return service_->node();
}

Result<std::vector<OwnerUid>> LocalGoneOwnerBoard::Candidates() {
  return LocalOwnerUids(*service_);
}

Error LocalGoneOwnerBoard::OwnerGone(const OwnerUid& o, EventKind reason) {
  auto kind = ParseOwnerKind(o.kind);
  if (!kind) return MakeError(kInternal, "unknown owner kind " + o.kind);
  return service_->ReleaseGone(*kind, o.owner, o.uid, reason);
}

}  // namespace vmip
