#include "identity_source.h"

namespace vmip {

Result<Identity> IdentityFromArgs(const v1::Caller& caller) {
  auto owner = ResolveOwner(caller);
  if (!owner.ok()) return owner.error();
  Identity id{owner.value(), {}};
  if (!caller.vm().empty())
    id.owner.source = kSourceArgs;
  else
    id.owner.source = id.owner.kind == OwnerKind::kVm ? kSourcePodName : kSourceContainer;
  return id;
}

}  // namespace vmip
