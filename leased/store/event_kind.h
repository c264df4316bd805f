// What a history event records; stored in events.kind by name.
#pragma once

#include <optional>
#include <string>

namespace vmip {

enum class EventKind {
  kBind,      // a new lease took an address
  kAttach,    // a container attached to a lease (ADD)
  kDetach,    // ... and detached (DEL, GC)
  kRelease,   // an address went back to the pool
  kClaim,     // a VM claimed a reservation
  kUnclaim,   // ... and gave it back
  kAdopt,     // cluster: this node bound a binding made elsewhere
  kHandoff,   // cluster: another node adopted a binding made here
  kDropCopy,  // cluster: this node's stale copy of a binding went
  // Kubernetes mode: why a lease is released (the release events follow).
  kVmDeleted,              // its VM (or VMI without a VM) is gone from the API
  kStatefulSetDeleted,     // its pod's StatefulSet is gone
  kStatefulSetScaledDown,  // ... or scaled below the pod's ordinal
  kExpire,                 // a VM binding detached longer than its TTL went back to the pool
  kMove,                   // a detached VM's binding moved to the address it asked for
};

const char* EventKindName(EventKind kind);
std::optional<EventKind> ParseEventKind(const std::string& text);

}  // namespace vmip
