// Kubernetes mode's answer to "who is this ADD for": the pod from the API server,
// its VirtualMachineInstance ownerReference (the VM's full name, never cut), the
// VirtualMachine's UID; a StatefulSet's pod is its own sticky owner; the pod's
// vmip.io/ip.<network> annotation requests addresses.
// When the API cannot be reached, an unambiguous virt-launcher-<vm>-<5> name falls
// back to the name rules; a possibly cut one answers code 11, never a guess.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "identity_source.h"
#include "kube_client.h"

namespace vmip {

inline constexpr const char* kIpAnnotationPrefix = "vmip.io/ip.";

class KubeIdentitySource : public IdentitySource {
 public:
  explicit KubeIdentitySource(KubeClient* client) : client_(client) {}
  Result<Identity> Resolve(const v1::Caller& caller) override;

 private:
  // The pod (cached by namespace/name/UID: what we read of a pod never changes).
  Result<std::optional<Json>> Pod(const v1::Caller& caller);
  Result<Identity> FromPod(const v1::Caller& caller, const Json& pod);
  Result<Identity> ApiUnreachable(const v1::Caller& caller, const Error& why);

  KubeClient* client_;
  std::mutex mu_;
  std::map<std::string, Json> pods_;
};

// The addresses a pod's vmip.io/ip.<network> annotation requests (comma list).
std::vector<std::string> AnnotatedIps(const Json& pod, const std::string& network);

}  // namespace vmip
