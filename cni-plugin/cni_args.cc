#include "cni_args.h"

#include <algorithm>
#include <cctype>

namespace vmip::cni {
namespace {

// Calls f(item) for every non-empty item of s separated by sep.
template <typename F>
void ForEachItem(std::string_view s, char sep, F f) {
  while (!s.empty()) {
    size_t end = s.find(sep);
    std::string_view item = s.substr(0, end);
    if (!item.empty()) f(item);
    if (end == std::string_view::npos) break;
    s.remove_prefix(end + 1);
  }
}

bool IsKnownKey(const std::string& key) {
  for (const char* known : {kArgPodNamespace, kArgPodName, kArgPodUid, kArgIp, kArgVm,
                            kArgReservation, kArgInfraContainerId, kArgIgnoreUnknown})
    if (key == known) return true;
  return false;
}

// IgnoreUnknown read as Go's UnmarshallableBool does: "1"/"true" or "0"/"false", any case.
CniError ReadIgnoreUnknown(const CniArgs& args, bool* ignore) {
  auto it = args.find(kArgIgnoreUnknown);
  *ignore = false;
  if (it == args.end()) return CniError::Ok();
  std::string v = it->second;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true") *ignore = true;
  if (*ignore || v == "0" || v == "false") return CniError::Ok();
  return MakeError(kInvalidEnv, "CNI_ARGS: IgnoreUnknown=\"" + it->second.substr(0, 64) +
                                       "\" is not a boolean (1, true, 0 or false)");
}

}  // namespace

CniError CheckArgKeys(const CniArgs& args) {
  bool ignore = false;
  if (auto err = ReadIgnoreUnknown(args, &ignore); !err.ok() || ignore) return err;
  std::string unknown;
  for (const auto& [key, value] : args)
    if (!IsKnownKey(key)) unknown += (unknown.empty() ? "" : " ") + key.substr(0, 64);
  if (unknown.empty()) return CniError::Ok();
  return MakeError(kInvalidEnv, "CNI_ARGS: unknown args [" + unknown +
                                       "]; add IgnoreUnknown=1 to CNI_ARGS to ignore them");
}

CniArgs ParseCniArgs(std::string_view raw) {
  CniArgs args;
  ForEachItem(raw, ';', [&](std::string_view pair) {
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return;
    args[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
  });
  return args;
}

std::string ArgValue(const CniArgs& args, const std::string& key) {
  auto it = args.find(key);
  return it == args.end() ? std::string() : it->second;
}

std::vector<std::string> SplitCommaList(std::string_view s) {
  std::vector<std::string> items;
  ForEachItem(s, ',', [&](std::string_view item) { items.emplace_back(item); });
  return items;
}

}  // namespace vmip::cni
