// CNI_ARGS ("K=V;K2=V2") parsed leniently (checklist ARG-5), never an error:
// - pairs are split on ';'; empty pairs (e.g. a trailing ';') are skipped;
// - each pair is split on its FIRST '=', so values may contain '=' ("a=b=c" -> a: "b=c");
// - empty values are kept ("K=" -> K: "");
// - a later duplicate key wins;
// - a non-empty pair without '=' is ignored (runtimes never send one; rejecting it would
//   fail a pod for a key vmip does not even read);
// - keys are case-sensitive and unknown keys are ignored, whatever IgnoreUnknown says,
//   because containerd and Multus always send IgnoreUnknown anyway (ARG-3).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vmip::cni {

// The keys vmip reads.
inline constexpr const char* kArgPodNamespace = "K8S_POD_NAMESPACE";
inline constexpr const char* kArgPodName = "K8S_POD_NAME";
inline constexpr const char* kArgPodUid = "K8S_POD_UID";
inline constexpr const char* kArgIp = "IP";  // requested IPs, comma-separated
inline constexpr const char* kArgVm = "VMIP_VM";
inline constexpr const char* kArgReservation = "VMIP_RESERVATION";

using CniArgs = std::map<std::string, std::string>;

CniArgs ParseCniArgs(std::string_view raw);

// The value of key, or "" when absent.
std::string ArgValue(const CniArgs& args, const std::string& key);

// "a,b,,c" -> {"a","b","c"}: empty items dropped.
std::vector<std::string> SplitCommaList(std::string_view s);

}  // namespace vmip::cni
