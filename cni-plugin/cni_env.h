// The CNI environment of one invocation, read and validated per command
// (checklist ENV-1..ENV-9).
//
// Choices:
// - CNI_PATH is never required: vmip execs nothing (ENV-2r deliberately not followed).
// - An unset or empty CNI_COMMAND is Command::kAbout: main prints the "about" text to
//   stderr and exits 0, like the reference skel (ENV-9).
// - GC and STATUS take everything from stdin; attachment variables are ignored there.
// - Missing variables are reported together, code 4, in skel's wording.
#pragma once

#include <functional>
#include <string>

#include "cni_error.h"

namespace vmip::cni {

enum class Command { kAbout, kAdd, kDel, kCheck, kGc, kStatus, kVersion };

struct CniEnv {
  Command command = Command::kAbout;
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS (may be empty on DEL)
  std::string ifname;        // CNI_IFNAME
  std::string args;          // CNI_ARGS, unparsed
};

// Returns the value of an environment variable or nullptr; injectable for tests.
using EnvLookup = std::function<const char*(const char*)>;

CniError ReadEnv(const EnvLookup& getenv, CniEnv* out);

// Same rules as skel's utils.ValidateContainerID / ValidateNetworkName:
// ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$
bool IsValidCniName(const std::string& s);

// Same rules as skel's utils.ValidateInterfaceName; empty string when valid,
// otherwise why not.
std::string InterfaceNameProblem(const std::string& ifname);

const char* CommandName(Command c);

}  // namespace vmip::cni
