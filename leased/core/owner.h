// Who owns an address: a VM (keeps it across pods) or a pod (ephemeral).
#pragma once

#include <string>

#include "error.h"
#include "vmip.pb.h"

namespace vmip {

enum class OwnerKind { kVm, kPod, kReservation };

struct Owner {
  OwnerKind kind = OwnerKind::kPod;
  std::string name;  // "namespace/vm", or the container ID for pods

  std::string KindName() const;
  std::string Describe() const { return KindName() + " " + name; }
};

OwnerKind OwnerKindFromName(const std::string& name);

// First match wins: the explicit VM name (args.cni.vm / VMIP_VM), then the KubeVirt
// pod name pattern virt-launcher-<vm>-<5 chars>, else the pod (container ID).
Result<Owner> ResolveOwner(const v1::Caller& caller);

}  // namespace vmip
