// A cluster-mode ADD in three steps (lease_add_cluster.cc): (1) under
// LeaseService::mu_ it reads the local state; (2) holding only the owner's lock
// (owner_locks.h) it agrees with the cluster store (etcd), registers the
// attachment there (a new owner: in the claim's own Txn; a VM restarted on this
// node: an Attach on the binding version its local lease records) and records the
// outcome here; (3) under mu_ again, in the ADD's local transaction, it re-checks what the
// outcome relies on and applies it. What step 2 did in etcd is listed here too, so a
// failed step 3 can undo exactly that (conditionally, by version).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ip_address.h"
#include "lease_store.h"
#include "owner.h"
#include "vmip.pb.h"

namespace vmip {

// What step 2 needs from step 1: the request and the owner's local lease as read.
struct AddIntent {
  const v1::AddRequest& req;
  Owner owner;
  std::vector<IpAddress> requested;  // one per range set; an unset entry means "any"
  std::optional<LeaseRow> lease;     // the owner's local lease in step 1, if any
};

struct ClusterAddPlan {
  std::string owner_key;  // the binding's key in the cluster store
  // Exactly one of these: attach to the local lease `keep` (the cluster agrees with
  // it), or bind `fresh` as a new local lease (claimed here now, or adopted).
  std::optional<LeaseRow> keep;
  std::vector<AddressRow> fresh;
  // A local lease the cluster overrules (other addresses): deleted in step 3.
  std::optional<LeaseRow> drop;
  int64_t revision = 0;          // the binding's version after step 2
  bool adopted = false;          // fresh came from an existing binding (`adopt` event)
  bool claimed = false;          // step 2 created the binding: step 3 failing gives it back
  std::vector<std::string> ips;  // the binding's addresses, for that give-back
  // Addresses held back in this node's free sets while the ADD is in flight, so a
  // concurrent ADD of another owner cannot pick them; released after step 3.
  std::vector<IpAddress> reserved;
  bool attached = false;  // step 2 may have registered the attachment (by its token)
  std::vector<v1::HandoffNotice> notices;  // sent once step 3 committed
};

}  // namespace vmip
