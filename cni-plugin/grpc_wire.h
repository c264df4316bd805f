// One unary gRPC call over HTTP/2 on a unix socket, written out by hand.
//
// Why: the plugin is exec'd once per CNI call, and the gRPC library's start-up
// (threads, event engine, channel) cost more than the whole daemon-side ADD
// (docs/performance.md). The wire format stays gRPC, so the daemon is an ordinary
// gRPC server and any gRPC client can talk to it.
//
// Scope: exactly one request message and one reply message on stream 1, no
// compression, no TLS. Response headers are not decoded (HPACK); a call that
// ends without a reply message is a failure.
#pragma once

#include <chrono>
#include <string>

namespace vmip::cni {

enum class WireStatus {
  kOk,           // reply holds the serialized reply message
  kUnreachable,  // no socket, refused, or no HTTP/2 answer before the connect deadline
  kTimeout,      // connected, but no reply before the call deadline
  kFailed,       // the stream ended or was reset without a reply message
};

struct WireResult {
  WireStatus status = WireStatus::kOk;
  std::string detail;  // what went wrong, for the error message
  std::string reply;
};

// path: "/vmip.v1.Cni/Add". Both deadlines are absolute.
WireResult UnaryCall(const std::string& socket_path, const std::string& path,
                     const std::string& request,
                     std::chrono::steady_clock::time_point connect_deadline,
                     std::chrono::steady_clock::time_point call_deadline);

}  // namespace vmip::cni
