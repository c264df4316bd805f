// grpc_wire against a real gRPC C++ server: the hand-written HTTP/2 client must
// interoperate, including replies larger than the HTTP/2 flow-control window.
#include "grpc_wire.h"

#include <grpcpp/grpcpp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "vmip.grpc.pb.h"

using vmip::cni::UnaryCall;
using vmip::cni::WireStatus;
namespace v1 = vmip::v1;

namespace {

using Clock = std::chrono::steady_clock;

class FakeDaemon final : public v1::Admin::Service, public v1::Cni::Service {
 public:
  grpc::Status ListLeases(grpc::ServerContext*, const v1::ListLeasesRequest* q,
                          v1::ListLeasesReply* r) override {
    for (int i = 0; i < 5000; i++) r->add_leases()->set_owner(q->filter().vm() + std::to_string(i));
    return grpc::Status::OK;
  }
  grpc::Status Del(grpc::ServerContext*, const v1::DelRequest*, v1::DelReply*) override {
    return grpc::Status(grpc::StatusCode::INTERNAL, "boom");
  }
};

struct Server {
  std::string path;
  FakeDaemon fake;
  std::unique_ptr<grpc::Server> server;
  Server() : path("/tmp/vmip-wire-test-" + std::to_string(getpid()) + ".sock") {
    unlink(path.c_str());
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + path, grpc::InsecureServerCredentials());
    b.RegisterService(static_cast<v1::Admin::Service*>(&fake));
    b.RegisterService(static_cast<v1::Cni::Service*>(&fake));
    server = b.BuildAndStart();
  }
  ~Server() {
    server->Shutdown();
    unlink(path.c_str());
  }
};

Clock::time_point In(int ms) {
  return Clock::now() + std::chrono::milliseconds(ms);
}

}  // namespace

TEST_CASE("a unary call to a real gRPC server, reply larger than the flow-control window") {
  Server s;
  v1::ListLeasesRequest req;
  req.mutable_filter()->set_vm("vm-with-a-long-name-");
  std::string bytes;
  req.SerializeToString(&bytes);
  auto r = UnaryCall(s.path, "/vmip.v1.Admin/ListLeases", bytes, In(2000), In(5000));
  REQUIRE(r.status == WireStatus::kOk);
  v1::ListLeasesReply reply;
  REQUIRE(reply.ParseFromString(r.reply));
  CHECK(r.reply.size() > 65535);
  CHECK(reply.leases_size() == 5000);
  CHECK(reply.leases(4999).owner() == "vm-with-a-long-name-4999");
}

TEST_CASE("a gRPC error status is a failure, not a reply") {
  Server s;
  auto r = UnaryCall(s.path, "/vmip.v1.Cni/Del", "", In(2000), In(5000));
  CHECK(r.status == WireStatus::kFailed);
  auto unknown = UnaryCall(s.path, "/vmip.v1.Cni/NoSuchMethod", "", In(2000), In(5000));
  CHECK(unknown.status == WireStatus::kFailed);
}

TEST_CASE("no socket, a refused socket, and a socket nobody answers are unreachable") {
  CHECK(UnaryCall("/tmp/vmip-no-such.sock", "/x/y", "", In(500), In(1000)).status ==
        WireStatus::kUnreachable);
  std::string path = "/tmp/vmip-wire-silent-" + std::to_string(getpid()) + ".sock";
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  // Bound but not listening: connect is refused at once.
  auto start = Clock::now();
  CHECK(UnaryCall(path, "/x/y", "", In(3000), In(5000)).status == WireStatus::kUnreachable);
  CHECK(Clock::now() - start < std::chrono::milliseconds(1500));  // not the 3 s deadline
  // Listening but never answering: unreachable at the connect deadline.
  REQUIRE(listen(fd, 4) == 0);
  start = Clock::now();
  auto r = UnaryCall(path, "/x/y", "", In(300), In(1000));
  CHECK(r.status == WireStatus::kUnreachable);
  CHECK(Clock::now() - start >= std::chrono::milliseconds(250));
  close(fd);
  unlink(path.c_str());
}
