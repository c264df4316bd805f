// CNI_ARGS ("K=V;K2=V2") parsed leniently (checklist ARG-5):
// - pairs are split on ';'; empty pairs (e.g. a trailing ';') are skipped;
// - each pair is split on its FIRST '=', so values may contain '=' ("a=b=c" -> a: "b=c");
// - empty values are kept ("K=" -> K: "");
// - a later duplicate key wins;
// - a non-empty pair without '=' is ignored (runtimes never send one; rejecting it would
//   fail a pod for a key vmip does not even read);
// - keys are case-sensitive.
// Unknown keys are the one error, and only where CheckArgKeys is called (ADD, CHECK):
// without a true IgnoreUnknown they are refused, code 4, as the reference LoadArgs does
// (ARG-3); containerd and Multus always send IgnoreUnknown. DEL never refuses them, so
// a runtime's odd key never blocks pod deletion.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cni_error.h"

namespace vmip::cni {

// The keys vmip reads.
inline constexpr const char* kArgPodNamespace = "K8S_POD_NAMESPACE";
inline constexpr const char* kArgPodName = "K8S_POD_NAME";
inline constexpr const char* kArgPodUid = "K8S_POD_UID";
inline constexpr const char* kArgIp = "IP";  // requested IPs, comma-separated
inline constexpr const char* kArgVm = "VMIP_VM";
inline constexpr const char* kArgReservation = "VMIP_RESERVATION";
// Known without being read: the sandbox ID Kubernetes runtimes send (ARG-4).
inline constexpr const char* kArgInfraContainerId = "K8S_POD_INFRA_CONTAINER_ID";
inline constexpr const char* kArgIgnoreUnknown = "IgnoreUnknown";

using CniArgs = std::map<std::string, std::string>;

CniArgs ParseCniArgs(std::string_view raw);

// ARG-3: code 4 naming the unknown keys unless IgnoreUnknown is true ("1"/"true", any
// case); an IgnoreUnknown that is not "1", "true", "0" or "false" is code 4 as well.
CniError CheckArgKeys(const CniArgs& args);

// The value of key, or "" when absent.
std::string ArgValue(const CniArgs& args, const std::string& key);

// "a,b,,c" -> {"a","b","c"}: empty items dropped.
std::vector<std::string> SplitCommaList(std::string_view s);

}  // namespace vmip::cni
