#include "kube_identity.h"

#include "decision_log.h"

namespace vmip {
namespace {

constexpr size_t kPodCacheMax = 4096;
constexpr const char* kKubevirtGroup = "kubevirt.io/";

// The controller ownerReference of a kind (KubeVirt and StatefulSets set controller: true).
std::optional<Json> OwnerRef(const Json& obj, const std::string& kind,
                             const std::string& api_prefix) {
  const Json refs = obj.value("metadata", Json::object()).value("ownerReferences", Json::array());
  for (const Json& ref : refs)
    if (ref.is_object() && ref.value("kind", "") == kind &&
        ref.value("apiVersion", "").rfind(api_prefix, 0) == 0 && ref.value("controller", false))
      return ref;
  return std::nullopt;
}

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

Identity Kubernetes(OwnerKind kind, const std::string& name, const std::string& uid) {
  return Identity{Owner{kind, name, uid, kSourceKubernetes}, {}};
}

}  // namespace

std::vector<std::string> AnnotatedIps(const Json& pod, const std::string& network) {
  std::vector<std::string> out;
  const Json notes = pod.value("metadata", Json::object()).value("annotations", Json::object());
  auto it = notes.find(kIpAnnotationPrefix + network);
  if (it == notes.end() || !it->is_string()) return out;
  std::string list = it->get<std::string>();
  for (size_t start = 0; start <= list.size();) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string ip = Trim(list.substr(start, comma - start));
    if (!ip.empty()) out.push_back(ip);
    start = comma + 1;
  }
  return out;
}

Result<std::optional<Json>> KubeIdentitySource::Pod(const v1::Caller& c) {
  std::string key = c.pod_namespace() + "/" + c.pod_name() + "/" + c.pod_uid();
  if (!c.pod_uid().empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pods_.find(key);
    if (it != pods_.end()) return std::optional<Json>(it->second);
  }
  auto pod = client_->Get("/api/v1/namespaces/" + c.pod_namespace() + "/pods/" + c.pod_name());
  if (!pod.ok() || !pod.value()) return pod;
  const Json& meta = (*pod.value())["metadata"];
  if (!c.pod_uid().empty() && meta.is_object() && meta.value("uid", "") == c.pod_uid()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pods_.size() >= kPodCacheMax) pods_.clear();
    pods_[key] = *pod.value();
  }
  return pod;
}

// Only a failure to reach the API (or a server error) falls back to the name rules;
// a name that may be cut cannot be resolved without the API: try again later.
Result<Identity> KubeIdentitySource::ApiUnreachable(const v1::Caller& c, const Error& why) {
  auto by_name = IdentityFromArgs(c);
  if (by_name.ok() || by_name.error().code != kInvalidConfig ||
      c.pod_name().size() != kGeneratedNameMax)
    return by_name;
  return MakeError(kTryAgainLater,
                   "VM identity of pod " + c.pod_namespace() + "/" + c.pod_name() +
                       " needs the Kubernetes API (the name may be cut): " + why.msg);
}

Result<Identity> KubeIdentitySource::FromPod(const v1::Caller& c, const Json& pod) {
  const std::string& ns = c.pod_namespace();
  Result<Identity> id = IdentityFromArgs(c);  // explicit args.cni.vm wins
  if (auto vmi = OwnerRef(pod, "VirtualMachineInstance", kKubevirtGroup); vmi && c.vm().empty()) {
    std::string name = vmi->value("name", "");
    if (!IsDnsName(name))
      return MakeError(kInvalidConfig, "pod " + ns + "/" + c.pod_name() +
                                           " names an invalid VirtualMachineInstance");
    // The VM's UID (the VMI's own when it has no VM): deletion and re-creation tell
    // owners apart by it.
    auto vm = client_->Get("/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + name);
    if (!vm.ok()) return vm.error();
    std::string uid =
        vm.value() ? (*vm.value())["metadata"].value("uid", "") : vmi->value("uid", "");
    id = Kubernetes(OwnerKind::kVm, ns + "/" + name, uid);
  } else if (auto sts = OwnerRef(pod, "StatefulSet", "apps/"); sts && c.vm().empty()) {
    id = Kubernetes(OwnerKind::kStatefulSetPod, ns + "/" + c.pod_name(), sts->value("uid", ""));
  }
  if (id.ok()) id.value().requested_ips = AnnotatedIps(pod, c.network());
  return id;
}

Result<Identity> KubeIdentitySource::Resolve(const v1::Caller& c) {
  if (c.pod_name().empty() || c.pod_namespace().empty() || !IsDnsName(c.pod_namespace()) ||
      !IsDnsName(c.pod_name()))
    return IdentityFromArgs(c);  // not a Kubernetes pod we can look up
  auto pod = Pod(c);
  if (!pod.ok()) {
    int status = HttpStatus(pod.error());
    if (status == 401 || status == 403) return pod.error();  // misconfigured: say so
    Log(LogLevel::kWarn, "op=identity" + Field("pod", c.pod_namespace() + "/" + c.pod_name()) +
                             " msg=\"" + pod.error().msg + "\"");
    return ApiUnreachable(c, pod.error());
  }
  if (!pod.value()) return IdentityFromArgs(c);  // no such pod: not one the API knows
  try {
    return FromPod(c, *pod.value());
  } catch (const Json::exception& e) {
    return MakeError(kTryAgainLater, "pod " + c.pod_namespace() + "/" + c.pod_name() +
                                         " has an unexpected shape: " + e.what());
  }
}

}  // namespace vmip
