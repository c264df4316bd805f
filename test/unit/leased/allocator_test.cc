#include "allocator.h"

#include <catch2/catch.hpp>
#include <set>

using namespace vmip;

namespace {

Pool MakePool(const std::string& subnet, std::vector<std::string> exclude = {}) {
  v1::PoolConfig c;
  c.add_range_sets()->add_ranges()->set_subnet(subnet);
  for (auto& e : exclude) c.add_exclude(e);
  return Pool::FromConfig("net1", c).value();
}

IpAddress Ip(const std::string& s) {
  return *ParseIp(s);
}

}  // namespace

TEST_CASE("fresh addresses come in range order, skipping the gateway") {
  Pool pool = MakePool("10.9.0.0/29");
  Allocator a(pool);
  std::vector<std::string> got;
  while (auto ip = a.Next(0)) {
    got.push_back(ip->ToString());
    a.Take(*ip);
  }
  CHECK(got ==
        std::vector<std::string>{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"});
}

TEST_CASE("Next does not take: the caller takes after its commit") {
  Pool pool = MakePool("10.9.0.0/29");
  Allocator a(pool);
  CHECK(a.Next(0)->ToString() == "10.9.0.2");
  CHECK(a.Next(0)->ToString() == "10.9.0.2");
}

TEST_CASE("released addresses are reused oldest first, after fresh ones") {
  Pool pool = MakePool("10.9.0.0/29");
  Allocator a(pool);
  for (int i = 0; i < 5; i++) a.Take(*a.Next(0));
  CHECK_FALSE(a.Next(0));
  a.Release(Ip("10.9.0.5"), 100);
  a.Release(Ip("10.9.0.3"), 200);
  CHECK(a.Next(0)->ToString() == "10.9.0.5");
  a.Take(Ip("10.9.0.5"));
  CHECK(a.Next(0)->ToString() == "10.9.0.3");
}

TEST_CASE("a released address is not handed out while fresh ones remain") {
  Pool pool = MakePool("10.9.0.0/24");
  Allocator a(pool);
  a.Take(*a.Next(0));  // .2
  a.Release(Ip("10.9.0.2"), 100);
  CHECK(a.Next(0)->ToString() == "10.9.0.3");
}

TEST_CASE("excluded CIDRs are skipped in one step") {
  Pool pool = MakePool("10.9.0.0/16", {"10.9.0.0/20", "10.9.16.0", "10.9.16.1"});
  Allocator a(pool);
  CHECK(a.Next(0)->ToString() == "10.9.16.2");
}

TEST_CASE("state loaded from the database is respected") {
  Pool pool = MakePool("10.9.0.0/29");
  Allocator a(pool);
  a.MarkTaken(Ip("10.9.0.2"));
  a.MarkReleased(Ip("10.9.0.3"), 50);
  a.MarkReleased(Ip("10.9.0.2"), 60);  // taken wins over a stale release row
  CHECK(a.Next(0)->ToString() == "10.9.0.4");
  CHECK(a.IsTaken(Ip("10.9.0.2")));
  CHECK_FALSE(a.IsTaken(Ip("10.9.0.6")));
}

TEST_CASE("huge IPv6 ranges allocate without scanning") {
  Pool pool = MakePool("fd00::/64");
  Allocator a(pool);
  std::set<IpAddress> seen;
  for (int i = 0; i < 1000; i++) {
    auto ip = a.Next(0);
    REQUIRE(ip);
    CHECK(seen.insert(*ip).second);
    a.Take(*ip);
  }
  CHECK(a.Used(0) == 1000);
}

TEST_CASE("multi-range sets continue into the next range") {
  v1::PoolConfig c;
  auto* rs = c.add_range_sets();
  auto* r1 = rs->add_ranges();
  r1->set_subnet("10.9.0.0/30");
  auto* r2 = rs->add_ranges();
  r2->set_subnet("10.9.1.0/30");
  Pool pool = Pool::FromConfig("net1", c).value();
  Allocator a(pool);
  std::vector<std::string> got;
  while (auto ip = a.Next(0)) {
    got.push_back(ip->ToString());
    a.Take(*ip);
  }
  CHECK(got == std::vector<std::string>{"10.9.0.2", "10.9.1.2"});
}

TEST_CASE("a reuse cooldown holds released addresses back even when nothing else is free") {
  Pool pool = MakePool("10.9.0.0/29");
  Allocator a(pool);
  a.SetCooldown(60);
  for (int i = 0; i < 5; i++) a.Take(*a.Next(0, 0));
  a.Release(Ip("10.9.0.4"), 1000);
  CHECK_FALSE(a.Next(0, 1059));
  CHECK(a.Next(0, 1060)->ToString() == "10.9.0.4");
}

TEST_CASE("addresses other nodes hold are skipped, ones they free become reusable last") {
  Pool pool = MakePool("10.9.0.0/29");  // .2-.6
  Allocator a(pool);
  a.MarkRemote(Ip("10.9.0.2"));
  a.MarkRemote(Ip("10.9.0.3"));
  CHECK(a.Next(0)->ToString() == "10.9.0.4");
  a.Take(Ip("10.9.0.4"));
  a.Take(Ip("10.9.0.5"));
  a.Take(Ip("10.9.0.6"));
  CHECK_FALSE(a.Next(0));
  auto freed = a.ReplaceRemote({Ip("10.9.0.3")}, 500);  // the other node freed .2
  REQUIRE(freed.size() == 1);
  CHECK(freed[0].ToString() == "10.9.0.2");
  CHECK(a.Next(0)->ToString() == "10.9.0.2");
  CHECK(a.IsTaken(Ip("10.9.0.3")));
  CHECK(a.TakenCount() == 3);  // remote addresses are not this node's
}

TEST_CASE("a hand-off makes a local address remote, and a watched release frees a remote one") {
  Pool pool = MakePool("10.9.0.0/29");  // .2-.6
  Allocator a(pool);
  a.Take(Ip("10.9.0.2"));
  a.HandOver(Ip("10.9.0.2"));  // another node adopted its binding
  CHECK(a.TakenCount() == 0);
  CHECK(a.IsTaken(Ip("10.9.0.2")));
  CHECK(a.Next(0)->ToString() == "10.9.0.3");
  a.ForgetRemote(Ip("10.9.0.4"), 100);  // not remote: nothing to forget
  CHECK(a.released().empty());
  a.ForgetRemote(Ip("10.9.0.2"), 100);  // that node released it
  CHECK_FALSE(a.IsTaken(Ip("10.9.0.2")));
  CHECK(a.released().count(Ip("10.9.0.2")));
}
