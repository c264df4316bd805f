#include "gone_owner_board.h"
#include "lease_service.h"

namespace vmip {

std::string LocalGoneOwnerBoard::leader() {
  return service_->node();
}

Result<std::vector<OwnerUid>> LocalGoneOwnerBoard::Candidates() {
  return service_->OwnerUids();
}

Error LocalGoneOwnerBoard::OwnerGone(const OwnerUid& o, EventKind reason) {
  auto kind = ParseOwnerKind(o.kind);
  if (!kind) return MakeError(kInternal, "unknown owner kind " + o.kind);
  return service_->ReleaseGone(*kind, o.owner, o.uid, reason);
}

}  // namespace vmip
