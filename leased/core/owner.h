// Who owns an address: a VM (keeps it across pods) or a pod (ephemeral).
#pragma once

#include <string>

#include "error.h"
#include "owner_key.h"
#include "vmip.pb.h"

namespace vmip {

// Where an owner's identity came from (shown by vmipctl leases).
inline constexpr const char* kSourceArgs = "args";              // args.cni.vm / VMIP_VM
inline constexpr const char* kSourcePodName = "pod-name";       // virt-launcher-<vm>-<5>
inline constexpr const char* kSourceContainer = "container";    // an ordinary pod
inline constexpr const char* kSourceKubernetes = "kubernetes";  // read from the API server

struct Owner {
  OwnerKind kind = OwnerKind::kPod;
  std::string name;    // "namespace/vm", or the container ID for pods
  std::string uid;     // the Kubernetes UID of the VM (or StatefulSet pod), "" if unknown
  std::string source;  // kSource*: which rule named it

  std::string KindName() const { return OwnerKindName(kind); }
  std::string Describe() const { return KindName() + " " + name; }
  OwnerKey Key(const std::string& ifname = "") const { return OwnerKey{kind, name, ifname}; }
};

// Kubernetes object names: DNS-1123 subdomain (lower case alphanumerics, '-', '.').
bool IsDnsName(const std::string& s);

// The namespace of a VM when the runtime passes no K8S_POD_NAMESPACE (podman's CNI
// backend passes K8S_POD_NAME only), and of a VMIP_VM name without "namespace/".
inline constexpr const char* kDefaultNamespace = "default";

// Longest name Kubernetes generates from a generateName (58 kept + 5 random).
inline constexpr size_t kGeneratedNameMax = 63;

// First match wins: the explicit VM name (args.cni.vm / VMIP_VM), then the KubeVirt
// pod name pattern virt-launcher-<vm>-<5 chars>, else the pod (container ID).
// A virt-launcher- pod name of kGeneratedNameMax characters may carry a cut VM name:
// without an explicit VM name it is refused (code 7), never guessed, never a pod.
Result<Owner> ResolveOwner(const v1::Caller& caller);

}  // namespace vmip
