// Turns the validated CNI inputs (env, CNI_ARGS, stdin config) into vmip.v1 requests.
// No policy: the daemon decides what the facts mean (VM or pod, which address).
#pragma once

#include <string>
#include <vector>

#include "cni_args.h"
#include "cni_env.h"
#include "net_config.h"
#include "vmip.pb.h"

namespace vmip::cni {

// The inputs of one invocation, already validated.
struct Invocation {
  CniEnv env;
  CniArgs args;
  NetConfig config;
};

// Requested IPs by CNI precedence (CFG-7/CFG-8, as the reference "static" plugin):
// runtimeConfig.ips when non-empty, else args.cni.ips when present (even empty), else
// CNI_ARGS IP=a,b. Strings are passed as given (with or without /prefix).
std::vector<std::string> ResolveRequestedIps(const NetConfig& config, const CniArgs& args);

// args.cni.vm wins over VMIP_VM; args.cni.reservation over VMIP_RESERVATION.
vmip::v1::Caller BuildCaller(const Invocation& in);

vmip::v1::AddRequest BuildAddRequest(const Invocation& in);
vmip::v1::DelRequest BuildDelRequest(const Invocation& in);
vmip::v1::CheckRequest BuildCheckRequest(const Invocation& in);
vmip::v1::GcRequest BuildGcRequest(const Invocation& in);
vmip::v1::StatusRequest BuildStatusRequest(const Invocation& in);

}  // namespace vmip::cni
