#include <cstdlib>

#include "metrics_server.h"

namespace vmip::metrics {

Result<HostPort> ParseHostPort(const std::string& text) {
  auto bad = [&](const std::string& why) {
    return MakeError(kInvalidConfig, "\"" + text + "\" is not HOST:PORT: " + why);
  };
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  HostPort out;
  out.host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  else if (out.host.find(':') != std::string::npos)
    return bad("an IPv6 address goes in brackets, [::1]:9102");
  if (out.host.empty()) return bad("no host (0.0.0.0 listens on every address)");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return bad("the port is not a number");
  out.port = std::atoi(port.c_str());
  if (out.port < 1 || out.port > 65535) return bad("the port is not in 1-65535");
  return out;
}

}  // namespace vmip::metrics
