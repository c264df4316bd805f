#include "owner.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace vmip {
namespace {

constexpr std::string_view kLauncherPrefix = "virt-launcher-";

bool IsLauncherPod(const std::string& pod) {
  return pod.compare(0, kLauncherPrefix.size(), kLauncherPrefix) == 0;
}

// "virt-launcher-<vm>-<xxxxx>" -> "<vm>", else "".
std::string VmFromLauncherPod(const std::string& pod) {
  const size_t prefix = kLauncherPrefix.size();
  if (pod.size() < prefix + 7 || !IsLauncherPod(pod)) return "";
  size_t dash = pod.size() - 6;
  if (pod[dash] != '-') return "";
  for (size_t i = dash + 1; i < pod.size(); i++)
    if (!std::isalnum(static_cast<unsigned char>(pod[i]))) return "";
  return pod.substr(prefix, dash - prefix);
}

// Kubernetes keeps kGeneratedNameMax - 5 characters of a generateName and appends 5
// random ones, so a launcher pod name of exactly kGeneratedNameMax may hold a cut VM
// name that another VM shares (or no dash at all where the cut fell): never parsed.
Error CutLauncherName(const std::string& pod) {
  const std::string max = std::to_string(kGeneratedNameMax);
  return MakeError(kInvalidConfig,
                   "VM identity ambiguous: pod name \"" + pod + "\" has " + max +
                       " characters, so Kubernetes may have cut the VM name in it at " + max +
                       " characters (two VMs can share the cut name); name the VM explicitly "
                       "with args.cni.vm in the network config (Multus cni-args) or "
                       "VMIP_VM=<name> in CNI_ARGS");
}

Result<Owner> VmOwner(const std::string& ns, const std::string& vm, const std::string& source) {
  if (!IsDnsName(ns))
    return MakeError(kInvalidConfig, "invalid namespace \"" + ns + "\" for VM from " + source);
  if (!IsDnsName(vm))
    return MakeError(kInvalidConfig, "invalid VM name \"" + vm + "\" from " + source);
  return Owner{OwnerKind::kVm, ns + "/" + vm, "", ""};
}

}  // namespace

bool IsDnsName(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  if (!std::isalnum(static_cast<unsigned char>(s.front())) ||
      !std::isalnum(static_cast<unsigned char>(s.back())))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.');
  });
}

Result<Owner> ResolveOwner(const v1::Caller& caller) {
  const std::string ns =
      caller.pod_namespace().empty() ? kDefaultNamespace : caller.pod_namespace();
  if (!caller.vm().empty()) {
    size_t slash = caller.vm().find('/');
    if (slash == std::string::npos) return VmOwner(ns, caller.vm(), "args.cni.vm/VMIP_VM");
    return VmOwner(caller.vm().substr(0, slash), caller.vm().substr(slash + 1),
                   "args.cni.vm/VMIP_VM");
  }
  const std::string& pod = caller.pod_name();
  if (IsLauncherPod(pod) && pod.size() == kGeneratedNameMax) return CutLauncherName(pod);
  std::string vm = VmFromLauncherPod(pod);
  if (!vm.empty()) return VmOwner(ns, vm, "K8S_POD_NAME");
  return Owner{OwnerKind::kPod, caller.container_id(), "", ""};
}

}  // namespace vmip
