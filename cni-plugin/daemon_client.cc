#include "daemon_client.h"

#include "grpc_wire.h"

namespace vmip::cni {

DaemonClient::DaemonClient(std::string socket_path)
    : socket_path_(std::move(socket_path)), start_(std::chrono::steady_clock::now()) {}

RpcOutcome DaemonClient::Unreachable(const std::string& why) const {
  return {RpcStatus::kUnreachable, MakeError(kTryAgainLater, "vmip-leased is not reachable at " +
                                                                 socket_path_ + ": " + why)};
}

RpcOutcome DaemonClient::Call(const std::string& method, const google::protobuf::MessageLite& req,
                              google::protobuf::MessageLite* reply) {
  std::string bytes;
  req.SerializeToString(&bytes);
  WireResult r = UnaryCall(socket_path_, "/vmip.v1.Cni/" + method, bytes, start_ + kConnectTimeout,
                           start_ + kCallTimeout);
  switch (r.status) {
    case WireStatus::kOk:
      if (reply->ParseFromString(r.reply)) return {};
      return {RpcStatus::kFailed,
              MakeError(kTryAgainLater, "vmip-leased sent an unreadable reply")};
    case WireStatus::kUnreachable:
      return Unreachable(r.detail);
    case WireStatus::kTimeout:
      return Unreachable("no answer within " + std::to_string(kCallTimeout.count() / 1000) + " s");
    case WireStatus::kFailed:
      break;
  }
  return {RpcStatus::kFailed, MakeError(kTryAgainLater, "vmip-leased call failed: " + r.detail)};
}

RpcOutcome DaemonClient::Add(const vmip::v1::AddRequest& req, vmip::v1::AddReply* reply) {
  return Call("Add", req, reply);
}
RpcOutcome DaemonClient::Del(const vmip::v1::DelRequest& req, vmip::v1::DelReply* reply) {
  return Call("Del", req, reply);
}
RpcOutcome DaemonClient::Check(const vmip::v1::CheckRequest& req, vmip::v1::CheckReply* reply) {
  return Call("Check", req, reply);
}
RpcOutcome DaemonClient::Gc(const vmip::v1::GcRequest& req, vmip::v1::GcReply* reply) {
  return Call("Gc", req, reply);
}
RpcOutcome DaemonClient::Status(const vmip::v1::StatusRequest& req, vmip::v1::StatusReply* reply) {
  return Call("Status", req, reply);
}

}  // namespace vmip::cni
