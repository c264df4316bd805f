#include <arpa/inet.h>

#include <cstdlib>

#include "metrics_server.h"

namespace vmip::metrics {
namespace {

// An IPv6 literal, with or without a zone ("fe80::1%eth0").
bool IsIpv6(const std::string& host) {
  in6_addr addr;
  return inet_pton(AF_INET6, host.substr(0, host.find('%')).c_str(), &addr) == 1;
}

}  // namespace

// The port is required, so the part after the last colon is always the port: an
// IPv6 address may come bracketed ([fd00::5]:9102) or bare (fd00::5:9102), which is
// what the DaemonSet's $(POD_IP):PORT gives on an IPv6 pod network.
Result<HostPort> ParseHostPort(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return MakeError(kInvalidConfig, "\"" + text + "\" is not HOST:PORT: " + why);
  };
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  HostPort out;
  out.host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  bool bracketed = out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']';
  if (bracketed) out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) return bad("no host (0.0.0.0 listens on every address)");
  if ((bracketed || out.host.find(':') != std::string::npos) && !IsIpv6(out.host))
    return bad("\"" + out.host + "\" is not an IPv6 address");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return bad("the port is not a number");
  out.port = std::atoi(port.c_str());
  if (out.port < 1 || out.port > 65535) return bad("the port is not in 1-65535");
  return out;
}

}  // namespace vmip::metrics
