#include "cni_env.h"

#include <vector>

namespace vmip::cni {
namespace {

std::string Get(const EnvLookup& getenv, const char* name) {
  const char* v = getenv(name);
  return v ? std::string(v) : std::string();
}

bool ParseCommand(const std::string& s, Command* out) {
  static const struct {
    const char* name;
    Command cmd;
  } kCommands[] = {{"ADD", Command::kAdd},       {"DEL", Command::kDel},
                   {"CHECK", Command::kCheck},   {"GC", Command::kGc},
                   {"STATUS", Command::kStatus}, {"VERSION", Command::kVersion}};
  for (const auto& c : kCommands) {
    if (s == c.name) {
      *out = c.cmd;
      return true;
    }
  }
  return false;
}

// Which attachment variables a command needs. DEL may run after the netns is gone
// (DEL-2), so CNI_NETNS is optional there.
std::vector<const char*> RequiredVars(Command c) {
  switch (c) {
    case Command::kAdd:
    case Command::kCheck:
      return {"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"};
    case Command::kDel:
      return {"CNI_CONTAINERID", "CNI_IFNAME"};
    default:
      return {};
  }
}

bool NeedsAttachment(Command c) {
  return c == Command::kAdd || c == Command::kCheck || c == Command::kDel;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
  return s;
}

}  // namespace

bool IsValidCniName(const std::string& s) {
  if (s.empty()) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0])) return false;
  for (char c : s) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

std::string InterfaceNameProblem(const std::string& ifname) {
  if (ifname.empty()) return "interface name is empty";
  if (ifname.size() > 15) return "interface name is too long";
  if (ifname == "." || ifname == "..") return "interface name is . or ..";
  for (char c : ifname) {
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
        c == '\f') {
      return "interface name contains / or : or whitespace characters";
    }
  }
  return "";
}

const char* CommandName(Command c) {
  switch (c) {
    case Command::kAdd:
      return "ADD";
    case Command::kDel:
      return "DEL";
    case Command::kCheck:
      return "CHECK";
    case Command::kGc:
      return "GC";
    case Command::kStatus:
      return "STATUS";
    case Command::kVersion:
      return "VERSION";
    case Command::kAbout:
      break;
  }
  return "";
}

CniError ReadEnv(const EnvLookup& getenv, CniEnv* out) {
  *out = CniEnv{};
  std::string cmd = Get(getenv, "CNI_COMMAND");
  if (cmd.empty()) return CniError::Ok();  // kAbout
  if (!ParseCommand(cmd, &out->command)) {
    return MakeError(kInvalidEnv, "unknown CNI_COMMAND: " + cmd);
  }
  if (!NeedsAttachment(out->command)) return CniError::Ok();

  std::vector<std::string> missing;
  for (const char* name : RequiredVars(out->command)) {
    if (Get(getenv, name).empty()) missing.push_back(name);
  }
  if (!missing.empty()) {
    return MakeError(kInvalidEnv, "required env variables [" + JoinNames(missing) + "] missing");
  }
  out->container_id = Get(getenv, "CNI_CONTAINERID");
  out->netns = Get(getenv, "CNI_NETNS");
  out->ifname = Get(getenv, "CNI_IFNAME");
  out->args = Get(getenv, "CNI_ARGS");

  if (!IsValidCniName(out->container_id)) {
    return MakeError(
        kInvalidEnv, "invalid characters in CNI_CONTAINERID",
        "CNI_CONTAINERID \"" + out->container_id + "\" must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
  }
  std::string problem = InterfaceNameProblem(out->ifname);
  if (!problem.empty()) {
    return MakeError(kInvalidEnv, "invalid CNI_IFNAME \"" + out->ifname + "\": " + problem);
  }
  return CniError::Ok();
}

}  // namespace vmip::cni
