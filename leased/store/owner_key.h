// Who owns a lease, and the one place owner kinds and owner keys turn into text and
// back, for SQLite rows and cluster keys alike:
//   kind       "vm" | "pod" | "reservation" | "sts"  leases.owner_kind
//   owner tag  "<kind>:<name>"                        events.owner
//   owner key  "<kind>:<name>#<ifname>"               outbox keys, cluster bindings,
//                                                     hand-off notices
#pragma once

#include <optional>
#include <string>

namespace vmip {

// A VM keeps its address across pods; a pod's dies with it; a reservation
// (vmipctl reserve) holds addresses for a VM to claim; a StatefulSet's pod
// (Kubernetes mode) keeps its address by name, like a VM.
enum class OwnerKind { kVm, kPod, kReservation, kStatefulSetPod };

const char* OwnerKindName(OwnerKind kind);
std::optional<OwnerKind> ParseOwnerKind(const std::string& text);

struct OwnerKey {
  OwnerKind kind = OwnerKind::kPod;
  std::string name;    // "namespace/vm", a container ID, or a reservation name
  std::string ifname;  // "" in a tag

  std::string Tag() const;     // "<kind>:<name>"
  std::string Encode() const;  // "<kind>:<name>#<ifname>"
  // nullopt unless text is "<kind>:<name>[#<ifname>]" with a known kind.
  static std::optional<OwnerKey> Decode(const std::string& text);
};

}  // namespace vmip
