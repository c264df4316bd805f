#include "daemon_client.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace vmip::cni {

DaemonClient::DaemonClient(std::string socket_path)
    : socket_path_(std::move(socket_path)), start_(std::chrono::system_clock::now()) {}

RpcOutcome DaemonClient::Unreachable(const std::string& why) const {
  return {RpcStatus::kUnreachable, MakeError(kErrTryAgainLater, "vmip-leased is not reachable at " +
                                                                    socket_path_ + ": " + why)};
}

RpcOutcome DaemonClient::FromStatus(const grpc::Status& s) const {
  if (s.ok()) return {};
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return Unreachable(s.error_message());
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Unreachable("no answer within " + std::to_string(kCallTimeout.count() / 1000) + " s");
  }
  return {RpcStatus::kFailed,
          MakeError(kErrTryAgainLater, "vmip-leased call failed: " + s.error_message())};
}

RpcOutcome DaemonClient::Connect() {
  struct stat st;
  if (stat(socket_path_.c_str(), &st) != 0) return Unreachable(strerror(errno));
  if (!S_ISSOCK(st.st_mode)) return Unreachable("not a socket");

  grpc::ChannelArguments args;
  // Retry a refused connect quickly, so a daemon that is just starting still gets a
  // few attempts inside the connect budget (gRPC's default first backoff is 1 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  channel_ =
      grpc::CreateCustomChannel("unix:" + socket_path_, grpc::InsecureChannelCredentials(), args);
  if (!channel_->WaitForConnected(start_ + kConnectTimeout)) {
    return Unreachable("no connection within " + std::to_string(kConnectTimeout.count()) + " ms");
  }
  stub_ = vmip::v1::Cni::NewStub(channel_);
  return {};
}

template <typename Req, typename Reply, typename Method>
RpcOutcome DaemonClient::Call(Method method, const Req& req, Reply* reply) {
  if (!stub_) {
    if (auto out = Connect(); out.status != RpcStatus::kOk) return out;
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(start_ + kCallTimeout);
  return FromStatus(((*stub_).*method)(&ctx, req, reply));
}

RpcOutcome DaemonClient::Add(const vmip::v1::AddRequest& req, vmip::v1::AddReply* reply) {
  return Call(&vmip::v1::Cni::Stub::Add, req, reply);
}
RpcOutcome DaemonClient::Del(const vmip::v1::DelRequest& req, vmip::v1::DelReply* reply) {
  return Call(&vmip::v1::Cni::Stub::Del, req, reply);
}
RpcOutcome DaemonClient::Check(const vmip::v1::CheckRequest& req, vmip::v1::CheckReply* reply) {
  return Call(&vmip::v1::Cni::Stub::Check, req, reply);
}
RpcOutcome DaemonClient::Gc(const vmip::v1::GcRequest& req, vmip::v1::GcReply* reply) {
  return Call(&vmip::v1::Cni::Stub::Gc, req, reply);
}
RpcOutcome DaemonClient::Status(const vmip::v1::StatusRequest& req, vmip::v1::StatusReply* reply) {
  return Call(&vmip::v1::Cni::Stub::Status, req, reply);
}

}  // namespace vmip::cni
