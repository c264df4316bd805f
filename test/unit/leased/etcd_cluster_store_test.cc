// EtcdClusterStore against a real etcd the test starts on 127.0.0.1 (random free
// ports, temp data dir): every destructive call compares the version it means to
// delete, and the address watch reports changes within about a second.
#include "etcd_cluster_store.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

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

ClusterBinding Bind(ClusterStore& s, const std::string& owner, const std::string& ip) {
  auto c = s.Claim("net1", owner, ClusterBinding{{ip}, "a", 0});
  REQUIRE(c.ok());
  REQUIRE(c.value().claimed);
  return ClusterBinding{{ip}, "a", c.value().revision};
}

}  // namespace

TEST_CASE("etcd: a release names the binding's version, and an old one never removes a newer") {
  Etcd etcd;
  auto a = etcd.Store("a");
  ClusterBinding first = Bind(*a, kOwner, "10.9.0.2");
  CHECK(first.revision > 0);
  auto r = a->Release("net1", kOwner, first.ips, first.revision);
  REQUIRE(r.ok());
  CHECK(r.value() == ReleaseOutcome::kReleased);
  ClusterBinding second = Bind(*a, kOwner, "10.9.0.2");  // same owner, same address
  CHECK(second.revision > first.revision);
  auto late = a->Release("net1", kOwner, first.ips, first.revision);  // a late replay
  REQUIRE(late.ok());
  CHECK(late.value() == ReleaseOutcome::kChanged);
  auto still = a->FindBinding("net1", kOwner);
  REQUIRE(still.ok());
  REQUIRE(still.value());
  CHECK(still.value()->revision == second.revision);
  CHECK(a->BoundAddresses("net1").value() == std::vector<std::string>{"10.9.0.2"});
  CHECK(a->Release("net1", kOwner, second.ips, second.revision).value() ==
        ReleaseOutcome::kReleased);
  CHECK(a->Release("net1", kOwner, second.ips, second.revision).value() == ReleaseOutcome::kGone);
  CHECK(!a->Release("net1", kOwner, second.ips, 0).ok());  // no version: refused
}

TEST_CASE("etcd: after a take-over the old holder's version releases nothing") {
  Etcd etcd;
  auto a = etcd.Store("a");
  auto b = etcd.Store("b");
  ClusterBinding on_a = Bind(*a, kOwner, "10.9.0.3");
  auto taken = b->TakeOver("net1", kOwner, on_a);
  REQUIRE(taken.ok());
  CHECK(!a->TakeOver("net1", kOwner, on_a).ok());  // a second take-over of the old version
  auto now = b->FindBinding("net1", kOwner).value();
  CHECK(now->node == "b");
  CHECK(now->revision == taken.value());
  CHECK(a->Release("net1", kOwner, on_a.ips, on_a.revision).value() == ReleaseOutcome::kChanged);
  CHECK(b->BindingsOf("", "vm:default/vm1#").value().size() == 1);
  CHECK(b->BindingsOf("net1", "vm:default/vm10#").value().empty());
}

TEST_CASE("etcd: attachments need the current binding, detach names its token") {
  Etcd etcd;
  auto a = etcd.Store("a");
  ClusterBinding b = Bind(*a, kOwner, "10.9.0.4");
  CHECK(a->Attach("net1", "c1#eth0", kOwner, "t1", b.revision - 1).code == 11);
  REQUIRE(a->Attach("net1", "c1#eth0", kOwner, "t1", b.revision).code == 0);
  REQUIRE(a->Detach("net1", "c1#eth0", kOwner, "t1").code == 0);
  REQUIRE(a->Attach("net1", "c1#eth0", kOwner, "t2", b.revision).code == 0);  // same key again
  REQUIRE(a->Detach("net1", "c1#eth0", kOwner, "t1").code == 0);  // late replay of the old one
  auto atts = a->Attachments("net1");
  REQUIRE(atts.ok());
  REQUIRE(atts.value().list.size() == 1);
  CHECK(atts.value().list[0].node == "a");
  CHECK(atts.value().list[0].owner == kOwner);
  CHECK(atts.value().list[0].attachment == "c1#eth0");
}

TEST_CASE("etcd: a release refuses when an attachment appeared after the check") {
  Etcd etcd;
  auto a = etcd.Store("a");
  auto b = etcd.Store("b");
  ClusterBinding bound = Bind(*a, kOwner, "10.9.0.5");
  auto seen = a->Attachments("net1");
  REQUIRE(seen.ok());
  CHECK(seen.value().list.empty());
  REQUIRE(b->Attach("net1", "c9#eth0", kOwner, "t9", bound.revision).code == 0);
  auto r = a->Release("net1", kOwner, bound.ips, bound.revision, seen.value().revision);
  REQUIRE(r.ok());
  CHECK(r.value() == ReleaseOutcome::kChanged);
  CHECK(a->FindBinding("net1", kOwner).value());
}

TEST_CASE("etcd: the address watch reports a bind and a release within a second") {
  Etcd etcd;
  auto a = etcd.Store("a");
  auto b = etcd.Store("b");
  std::mutex mu;
  std::vector<std::string> seen;
  std::atomic<int> starts{0};
  b->WatchAddresses(
      [&](const AddressChange& c) {
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(c.network + " " + c.ip + (c.bound ? " bound" : " freed"));
      },
      [&] { starts++; });
  for (int i = 0; i < 50 && starts == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(starts == 1);
  ClusterBinding bound = Bind(*a, kOwner, "10.9.0.6");
  REQUIRE(a->Release("net1", kOwner, bound.ips, bound.revision).value() ==
          ReleaseOutcome::kReleased);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (seen.size() >= 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mu);
  CHECK(seen == std::vector<std::string>{"net1 10.9.0.6 bound", "net1 10.9.0.6 freed"});
}
