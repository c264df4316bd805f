// The gRPC client for vmip-leased on its unix socket (service vmip.v1.Cni).
//
// Timing: the socket file is checked first (fast fail when the daemon never started),
// then the channel gets at most kConnectTimeout to connect, so an unreachable daemon
// is reported within 2 s including exec and config parsing (1.5 s leaves that margin);
// the RPC itself is bounded by kCallTimeout from the start.
// The daemon's own verdict travels inside the reply (reply.error); this class reports
// only transport problems.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "cni_error.h"
#include "vmip.grpc.pb.h"

namespace vmip::cni {

enum class RpcStatus {
  kOk,           // a reply arrived (it may still carry reply.error)
  kUnreachable,  // no socket, no connection, UNAVAILABLE or DEADLINE_EXCEEDED
  kFailed,       // any other gRPC failure
};

struct RpcOutcome {
  RpcStatus status = RpcStatus::kOk;
  CniError error;  // code 11 with the reason unless status == kOk
};

class DaemonClient {
 public:
  static constexpr std::chrono::milliseconds kConnectTimeout{1500};
  static constexpr std::chrono::milliseconds kCallTimeout{10000};

  explicit DaemonClient(std::string socket_path);

  RpcOutcome Add(const vmip::v1::AddRequest& req, vmip::v1::AddReply* reply);
  RpcOutcome Del(const vmip::v1::DelRequest& req, vmip::v1::DelReply* reply);
  RpcOutcome Check(const vmip::v1::CheckRequest& req, vmip::v1::CheckReply* reply);
  RpcOutcome Gc(const vmip::v1::GcRequest& req, vmip::v1::GcReply* reply);
  RpcOutcome Status(const vmip::v1::StatusRequest& req, vmip::v1::StatusReply* reply);

 private:
  // Checks the socket and connects the channel; kOk when a call may be made.
  RpcOutcome Connect();
  RpcOutcome FromStatus(const grpc::Status& s) const;
  RpcOutcome Unreachable(const std::string& why) const;

  template <typename Req, typename Reply, typename Method>
  RpcOutcome Call(Method method, const Req& req, Reply* reply);

  std::string socket_path_;
  std::chrono::system_clock::time_point start_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<vmip::v1::Cni::Stub> stub_;
};

}  // namespace vmip::cni
