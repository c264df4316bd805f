// The HTTP endpoint of `vmip-leased --metrics-address HOST:PORT`:
//   /metrics  the registry in the Prometheus text format;
//   /healthz  200 "ok" while the daemon serves;
//   /readyz   200 "ready", or 503 with a one-line reason (database, etcd).
// Two worker threads of its own; a scrape never runs on the CNI socket's threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "error.h"
#include "registry.h"

namespace vmip::metrics {

struct HostPort {
  std::string host;  // "127.0.0.1", "0.0.0.0", "::1" (given as "[::1]:9102")
  int port = 0;
};

// "HOST:PORT" or "[IPv6]:PORT", port 1-65535. The error names what is wrong.
Result<HostPort> ParseHostPort(const std::string& text);

class MetricsServer {
 public:
  // "" when ready, else the reason, one line.
  using Readiness = std::function<std::string()>;

  // Binds before returning, so a taken port is an error here, not later. Port 0
  // takes any free one (see port()).
  static Result<std::unique_ptr<MetricsServer>> Start(const HostPort& at, const Registry* registry,
                                                      Readiness readiness);
  ~MetricsServer();  // stops serving and joins the thread
  int port() const { return port_; }

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace vmip::metrics
