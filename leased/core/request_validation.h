// Every field that arrives over gRPC is checked as if an attacker sent it: the
// plugin validates too, but the socket is the trust boundary of the daemon.
#pragma once

#include "error.h"
#include "vmip.pb.h"

namespace vmip {

// Network name, container ID, interface name, and the sizes of free-form fields.
// need_netns: ADD and CHECK need a netns; DEL does not.
Error ValidateCaller(const v1::Caller& caller, bool need_netns);

bool IsValidContainerId(const std::string& id);
bool IsValidIfname(const std::string& name);

}  // namespace vmip
