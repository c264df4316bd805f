// rpc_bench: the parts of one vmip ADD without the process around it, to split the cost
// of an exec'd call into exec, connect, RPC and transaction. Talks to a running daemon.
//
//   rpc_bench SOCKET ITERATIONS
//
// Prints one JSON object with p50/p99/mean (ms) for:
//   connect_del: new channel + connect + DEL of an unknown container (what the plugin does
//                minus exec; no write)
//   rpc_del:     DEL of an unknown container on a connected channel (RPC round trip + a
//                read-only lookup)
//   rpc_add:     ADD on a connected channel (RPC + allocation + one durable commit)
//   rpc_del_lease: DEL of that lease (RPC + one durable commit)
// Uses its own network name, so its pool never replaces the one the plugin uses.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "vmip.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr long kMaxIterations = 100000;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::string Stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  auto at = [&](double p) { return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))]; };
  char buf[160];
  snprintf(buf, sizeof buf, "{\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f}", at(0.5), at(0.99),
           sum / static_cast<double>(v.size()));
  return buf;
}

vmip::v1::Caller MakeCaller(const std::string& id) {
  vmip::v1::Caller c;
  c.set_network("rpcbench");
  c.set_container_id(id);
  c.set_ifname("eth0");
  c.set_netns("/var/run/netns/" + id);
  c.set_pod_namespace("default");
  c.set_pod_name("pod-" + id);
  return c;
}

vmip::v1::AddRequest MakeAdd(const std::string& id) {
  vmip::v1::AddRequest r;
  *r.mutable_caller() = MakeCaller(id);
  r.mutable_pool()->add_range_sets()->add_ranges()->set_subnet("10.64.0.0/10");
  return r;
}

std::unique_ptr<vmip::v1::Cni::Stub> Connect(const std::string& socket) {
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return vmip::v1::Cni::NewStub(channel);
}

// Exits on a transport error or an error reply: a figure from failed calls is worthless.
template <typename Reply>
void Check(const grpc::Status& s, const Reply& reply, const char* what) {
  if (s.ok() && reply.error().code() == 0) return;
  fprintf(stderr, "rpc_bench: %s failed: %s %s\n", what, s.error_message().c_str(),
          reply.error().msg().c_str());
  exit(1);
}

void Del(vmip::v1::Cni::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  vmip::v1::DelRequest req;
  vmip::v1::DelReply reply;
  *req.mutable_caller() = MakeCaller(id);
  Check(stub.Del(&ctx, req, &reply), reply, "DEL");
}

void Add(vmip::v1::Cni::Stub& stub, const std::string& id) {
  grpc::ClientContext ctx;
  vmip::v1::AddReply reply;
  Check(stub.Add(&ctx, MakeAdd(id), &reply), reply, "ADD");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: rpc_bench SOCKET ITERATIONS\n");
    return 2;
  }
  std::string socket = argv[1];
  long n = std::clamp(atol(argv[2]), 1L, kMaxIterations);
  std::vector<double> connect_del, rpc_del, rpc_add, rpc_del_lease;
  for (long i = 0; i < n; i++) {
    auto t0 = Clock::now();
    auto fresh = Connect(socket);
    Del(*fresh, "rpcb-none-" + std::to_string(i));
    connect_del.push_back(MsSince(t0));
  }
  auto stub = Connect(socket);
  Add(*stub, "rpcb-warmup");  // the first ADD of a network builds its pool
  Del(*stub, "rpcb-warmup");
  for (long i = 0; i < n; i++) {
    std::string id = "rpcb-" + std::to_string(i);
    auto t0 = Clock::now();
    Del(*stub, id + "-none");
    rpc_del.push_back(MsSince(t0));
    t0 = Clock::now();
    Add(*stub, id);
    rpc_add.push_back(MsSince(t0));
    t0 = Clock::now();
    Del(*stub, id);
    rpc_del_lease.push_back(MsSince(t0));
  }
  printf("{\"connect_del\":%s,\"rpc_del\":%s,\"rpc_add\":%s,\"rpc_del_lease\":%s}\n",
         Stats(connect_del).c_str(), Stats(rpc_del).c_str(), Stats(rpc_add).c_str(),
         Stats(rpc_del_lease).c_str());
  return 0;
}
