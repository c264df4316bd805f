// EtcdClusterStore against a real etcd the test starts on 127.0.0.1 (random free
// ports, temp data dir): the generic ClusterStore conformance suite, then what only
// the etcd store does (its value encoding, detaches queued before tokens existed).
#include "etcd_cluster_store.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "cluster_store_conformance.h"

using namespace vmip;

namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// One etcd member for one test case; killed (this pid only) and wiped after.
struct Etcd {
  std::string dir, client;
  pid_t pid = -1;
  Etcd() {
    char tmpl[] = "/tmp/vmip-etcd-XXXXXX";
    dir = mkdtemp(tmpl);
    int cport = FreePort(), pport = FreePort();
    client = "http://127.0.0.1:" + std::to_string(cport);
    std::string peer = "http://127.0.0.1:" + std::to_string(pport);
    pid = fork();
    if (pid == 0) {
      std::string log = dir + "/etcd.log";
      FILE* f = freopen(log.c_str(), "w", stderr);
      (void)f;
      execlp("etcd", "etcd", "--name", "u1", "--data-dir", (dir + "/data").c_str(),
             "--listen-client-urls", client.c_str(), "--advertise-client-urls", client.c_str(),
             "--listen-peer-urls", peer.c_str(), "--initial-advertise-peer-urls", peer.c_str(),
             "--initial-cluster", ("u1=" + peer).c_str(), nullptr);
      _exit(127);
    }
  }
  ~Etcd() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    std::system(("rm -rf " + dir).c_str());
  }
  // A store for node `node`, once etcd answers (10 s at most).
  std::unique_ptr<ClusterStore> Store(const std::string& node) {
    EtcdOptions o;
    o.endpoints = {client};
    o.lease_ttl_seconds = 5;
    for (int i = 0; i < 100; i++) {
      auto s = EtcdClusterStore::Start(o, node, node + ":7070");
      if (s.ok()) return std::move(s.value());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("etcd did not start");
    return nullptr;
  }
};

const std::string kOwner = "vm:default/vm1#eth0";

}  // namespace

TEST_CASE("cluster store conformance: etcd") {
  Etcd etcd;
  RunClusterStoreConformance([&](const std::string& node) { return etcd.Store(node); });
}

TEST_CASE("etcd: a binding's value round-trips node and addresses in order") {
  ClusterBinding b{{"10.9.0.2", "fd00::2"}, "node-1", 0};
  CHECK(EncodeBinding(b) == "node-1 10.9.0.2,fd00::2");
  ClusterBinding back = DecodeBinding(EncodeBinding(b));
  CHECK(back.node == "node-1");
  CHECK(back.ips == b.ips);
  CHECK(DecodeBinding("node-2").ips.empty());
}

TEST_CASE("etcd: a detach without owner and token removes only this node's attachment") {
  Etcd etcd;
  auto a = etcd.Store("a");
  auto b = etcd.Store("b");
  auto c = a->Claim("net1", kOwner, ClusterBinding{{"10.9.0.7"}, "a", 0}, nullptr);
  REQUIRE(c.ok());
  REQUIRE(c.value().claimed);
  auto attached = a->Attach("net1", "c1#eth0", kOwner, "t1", c.value().revision);
  REQUIRE(attached.ok());
  REQUIRE(attached.value());
  REQUIRE(b->Detach("net1", "c1#eth0", "", "").code == 0);  // not b's: kept
  CHECK(a->Attachments("net1").value().list.size() == 1);
  REQUIRE(a->Detach("net1", "c1#eth0", "", "").code == 0);
  CHECK(a->Attachments("net1").value().list.empty());
}
