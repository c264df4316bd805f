// Who an ADD is for, asked before the lease service takes its lock: the answer may
// need the network (the Kubernetes API), and no request should wait on another's
// HTTP call. The default answers from the CNI arguments alone (owner.h); Kubernetes
// mode plugs in one that reads the pod, its VirtualMachineInstance and VM.
#pragma once

#include <string>
#include <vector>

#include "error.h"
#include "owner.h"
#include "vmip.pb.h"

namespace vmip {

struct Identity {
  Owner owner;  // owner.uid and owner.source say which object and which rule
  // Addresses the pod asks for by annotation, used when the CNI request names none.
  std::vector<std::string> requested_ips;
};

class IdentitySource {
 public:
  virtual ~IdentitySource() = default;
  // May block (bounded); called without any lock held.
  virtual Result<Identity> Resolve(const v1::Caller& caller) = 0;
};

// The rules of owner.h, from the CNI arguments only.
Result<Identity> IdentityFromArgs(const v1::Caller& caller);

}  // namespace vmip
