#include "request_validation.h"

#include <algorithm>
#include <cctype>

#include "pool.h"

namespace vmip {
namespace {
constexpr size_t kMaxField = 1024;
}

bool IsValidContainerId(const std::string& id) {
  return IsValidNetworkName(id);
}

bool IsValidIfname(const std::string& name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || c == '\0';
  });
}

Error ValidateCaller(const v1::Caller& c, bool need_netns) {
  if (!IsValidNetworkName(c.network()))
    return MakeError(kInvalidConfig, "invalid network name \"" + c.network().substr(0, 64) + "\"");
  if (!IsValidContainerId(c.container_id()))
    return MakeError(kInvalidEnv,
                     "invalid CNI_CONTAINERID \"" + c.container_id().substr(0, 64) + "\"");
  if (!IsValidIfname(c.ifname()))
    return MakeError(kInvalidEnv, "invalid CNI_IFNAME \"" + c.ifname().substr(0, 64) + "\"");
  if (need_netns && c.netns().empty()) return MakeError(kInvalidEnv, "CNI_NETNS is empty");
  for (const std::string* f :
       {&c.netns(), &c.pod_namespace(), &c.pod_name(), &c.pod_uid(), &c.vm(), &c.reservation()})
    if (f->size() > kMaxField) return MakeError(kInvalidEnv, "a caller field exceeds 1024 bytes");
  return Error{};
}

}  // namespace vmip
