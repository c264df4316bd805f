// vmipctl's subcommands (commands.cc); main (vmipctl.cc) parses the command line
// and calls one of them. Each returns the exit code: 0 ok, 1 refused or check
// failed, 3 daemon unreachable (2, usage, is the parser's).
#pragma once

#include <cstdint>
#include <string>

#include "vmip.grpc.pb.h"

namespace vmipctl {

namespace v1 = vmip::v1;

// Ranges of the numeric options; the daemon refuses a larger reservation anyway.
constexpr uint32_t kMaxHistoryLimit = 1000000;
constexpr uint32_t kMaxReserveCount = 4096;

struct Global {
  std::string socket = "/run/vmip/leased.sock";
  bool json = false;
  bool cluster = false;  // ask every node (cluster mode)
};

int Leases(const Global& g, const v1::LeaseFilter& filter);
int Pools(const Global& g);
int Status(const Global& g, bool ready);
int Show(const Global& g, const std::string& what, const std::string& network);
int History(const Global& g, v1::HistoryRequest req);
int Reserve(const Global& g, const v1::ReserveRequest& req);
int Unreserve(const Global& g, const v1::UnreserveRequest& req);
int Release(const Global& g, const v1::ReleaseRequest& req);
int Check(const Global& g);

}  // namespace vmipctl
