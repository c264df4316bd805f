// What one ADD knows and decides on its way down the ADD path, passed by reference
// instead of a chain of parameters (Kea's ClientContext is the model). Built once by
// LeaseService::AddLocked; lives for that one ADD, under LeaseService::mu_.
#pragma once

#include <cstdint>
#include <vector>

#include "ip_address.h"
#include "lease_store.h"
#include "network_state.h"
#include "owner.h"
#include "vmip.pb.h"

namespace vmip {

struct AddContext {
  // What the request says.
  NetworkState& net;
  const v1::Caller& caller;
  Owner owner;
  int64_t now = 0;
  std::vector<IpAddress> requested;  // one per range set; an unset entry means "any"

  // What the ADD decided on the way.
  std::vector<AddressRow> fresh;  // addresses the free sets take after the commit
  // This ADD created the owner's cluster binding, so it gives it back if the local
  // commit fails; an adopted binding belongs to another node.
  bool claimed = false;
};

}  // namespace vmip
