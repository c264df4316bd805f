// The seam through which the core reports released leases to whoever counts them
// (the metrics layer). The core declares it and includes nothing of the observer's;
// calls come after the release committed, under the service's lock, so an observer
// must only record (no I/O, no calls back into the service).
#pragma once

#include <cstdint>
#include <string>

namespace vmip {

// Why a lease ended and its addresses went back to the pool.
enum class ReleaseReason {
  kPodDeleted,  // DEL of an ordinary pod's last attachment (also from the DEL spool)
  kVmDeleted,   // the VM is gone (Kubernetes mode)
  kByHand,      // vmipctl release / unreserve
  kExpired,     // a detached lease outlived its expiry
  kGc,          // CNI GC dropped an attachment the runtime no longer knows
};

// "pod_deleted", "vm_deleted", "by_hand", "expired", "gc".
const char* ReleaseReasonName(ReleaseReason reason);

class ReleaseObserver {
 public:
  virtual ~ReleaseObserver() = default;
  virtual void LeasesReleased(const std::string& network, ReleaseReason reason,
                              uint64_t leases) = 0;
};

}  // namespace vmip
