#include "peer_directory.h"

#include <grpcpp/grpcpp.h>

#include "decision_log.h"

namespace vmip {

std::unique_ptr<grpc::ClientContext> PeerContext() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return ctx;
}

v1::Peer::Stub* PeerDirectory::StubFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& stub = stubs_[address];
  if (stub) return stub.get();
  // A peer's lease list (vmipctl leases --cluster) passes gRPC's 4 MB default answer
  // at about 35,000 leases.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  stub = v1::Peer::NewStub(grpc::CreateCustomChannel(address, ClientCredentials(tls_), args));
  return stub.get();
}

Result<std::map<std::string, v1::Peer::Stub*>> PeerDirectory::Peers() {
  auto nodes = cluster_->Nodes();
  if (!nodes.ok()) return nodes.error();
  std::map<std::string, v1::Peer::Stub*> out;
  for (const auto& [name, address] : nodes.value())
    if (name != self_ && !address.empty()) out[name] = StubFor(address);
  return out;
}

void PeerDirectory::SendHandoff(const v1::HandoffNotice& notice) {
  auto peers = Peers();
  if (!peers.ok()) return;
  auto it = peers.value().find(notice.from_node());
  if (it == peers.value().end()) return;  // the old node is gone: nobody to tell
  v1::HandoffReply reply;
  grpc::Status s = it->second->Handoff(PeerContext().get(), notice, &reply);
  if (!s.ok())
    Log(LogLevel::kWarn,
        "op=handoff to=" + notice.from_node() + " msg=\"" + s.error_message() + "\"");
}

}  // namespace vmip
