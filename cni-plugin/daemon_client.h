// The client for vmip-leased on its unix socket (gRPC service vmip.v1.Cni, spoken
// by grpc_wire.h without the gRPC library).
//
// Timing: a missing socket or a refused connection fails at once; a daemon that
// accepts but does not answer gets kConnectTimeout, so an unreachable daemon is
// reported within 2 s including exec and config parsing; the call itself is
// bounded by kCallTimeout from the start.
// The daemon's own verdict travels inside the reply (reply.error); this class reports
// only transport problems.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cni_error.h"
#include "vmip.pb.h"

namespace vmip::cni {

enum class RpcStatus {
  kOk,           // a reply arrived (it may still carry reply.error)
  kUnreachable,  // no socket, no connection, no answer in time
  kFailed,       // the call ended without a reply
};

struct RpcOutcome {
  RpcStatus status = RpcStatus::kOk;
  CniError error;  // code 11 with the reason unless status == kOk
};

class DaemonClient {
 public:
  static constexpr std::chrono::milliseconds kConnectTimeout{1000};
  static constexpr std::chrono::milliseconds kCallTimeout{10000};

  explicit DaemonClient(std::string socket_path);

  RpcOutcome Add(const vmip::v1::AddRequest& req, vmip::v1::AddReply* reply);
  RpcOutcome Del(const vmip::v1::DelRequest& req, vmip::v1::DelReply* reply);
  RpcOutcome Check(const vmip::v1::CheckRequest& req, vmip::v1::CheckReply* reply);
  RpcOutcome Gc(const vmip::v1::GcRequest& req, vmip::v1::GcReply* reply);
  RpcOutcome Status(const vmip::v1::StatusRequest& req, vmip::v1::StatusReply* reply);

 private:
  RpcOutcome Unreachable(const std::string& why) const;
  RpcOutcome Call(const std::string& method, const google::protobuf::MessageLite& req,
                  google::protobuf::MessageLite* reply);

  std::string socket_path_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vmip::cni
