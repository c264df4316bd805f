#include "release_observer.h"

namespace vmip {

const char* ReleaseReasonName(ReleaseReason reason) {
  switch (reason) {
    case ReleaseReason::kPodDeleted:
      return "pod_deleted";
    case ReleaseReason::kVmDeleted:
      return "vm_deleted";
    case ReleaseReason::kByHand:
      return "by_hand";
    case ReleaseReason::kExpired:
      return "expired";
    case ReleaseReason::kGc:
      return "gc";
  }
  return "unknown";
}

}  // namespace vmip
