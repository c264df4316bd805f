// LeaseService against a real SQLite file: the decisions and their durability.
#include "lease_service.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

#include "service_test_support.h"
#include "spool_replay.h"

using namespace vmip;
using namespace vmip::testing;

using Fixture = ServiceOnDisk;

TEST_CASE("a VM keeps its address through DEL and a new pod, a pod does not") {
  Fixture f;
  std::string vm_ip = Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde")));
  CHECK(vm_ip == "10.9.0.2/24");
  CHECK(f.svc->Del(Del("c1")).error().code() == 0);
  auto leases = f.svc->ListLeases({});
  REQUIRE(leases.leases_size() == 1);
  CHECK(leases.leases(0).state() == "detached");
  CHECK(leases.leases(0).owner() == "default/vm1");
  std::string pod_ip = Ip(f.svc->Add(Add("p1", "web-1")));
  CHECK(pod_ip == "10.9.0.3/24");
  CHECK(Ip(f.svc->Add(Add("c2", "virt-launcher-vm1-fghij"))) == vm_ip);
  CHECK(f.svc->Del(Del("p1")).error().code() == 0);
  CHECK(f.svc->ListLeases({}).leases_size() == 1);
  // The freed pod address is not reused while fresh ones remain.
  CHECK(Ip(f.svc->Add(Add("p2", "web-2"))) == "10.9.0.4/24");
}

TEST_CASE("ADD-3: the same container and ifname get the same answer, no new attachment") {
  Fixture f;
  std::string a = Ip(f.svc->Add(Add("c1", "web-1")));
  CHECK(Ip(f.svc->Add(Add("c1", "web-1"))) == a);
  CHECK(f.Rows("attachments") == 1);
}

TEST_CASE("DEL-1: DEL of an unknown attachment succeeds and changes nothing") {
  Fixture f;
  CHECK(f.svc->Del(Del("nobody")).error().code() == 0);
  CHECK(f.svc->Del(Del("nobody")).error().code() == 0);
  CHECK(f.Rows("events") == 0);
}

TEST_CASE("explicit VM name wins over the pod name") {
  Fixture f;
  auto req = Add("c1", "virt-launcher-other-abcde");
  req.mutable_caller()->set_vm("ns2/vmx");
  Ip(f.svc->Add(req));
  CHECK(f.svc->ListLeases({}).leases(0).owner() == "ns2/vmx");
  auto bad = Add("c2", "x");
  bad.mutable_caller()->set_vm("Bad_Name");
  CHECK(f.svc->Add(bad).error().code() == 7);
}

TEST_CASE("dual stack returns one address per range set") {
  Fixture f;
  auto pool = Pool1();
  pool.add_range_sets()->add_ranges()->set_subnet("fd00:9::/64");
  auto r = f.svc->Add(Add("c1", "virt-launcher-vm1-abcde", pool));
  REQUIRE(r.error().code() == 0);
  REQUIRE(r.ips_size() == 2);
  CHECK(r.ips(0).address() == "10.9.0.2/24");
  CHECK(r.ips(1).address() == "fd00:9::2/64");
  CHECK(r.ips(1).gateway() == "fd00:9::1");
}

TEST_CASE("requested addresses: taken, outside, mismatch") {
  Fixture f;
  auto first = Add("c1", "virt-launcher-vm1-abcde");
  first.add_requested_ips("10.9.0.50/24");
  CHECK(Ip(f.svc->Add(first)) == "10.9.0.50/24");
  auto taken = Add("c2", "web-1");
  taken.add_requested_ips("10.9.0.50");
  auto r = f.svc->Add(taken);
  CHECK(r.error().code() == 101);
  CHECK(r.error().msg().find("vm default/vm1") != std::string::npos);
  auto outside = Add("c3", "web-2");
  outside.add_requested_ips("10.10.0.5");
  CHECK(f.svc->Add(outside).error().code() == 102);
  auto gateway = Add("c3", "web-2");
  gateway.add_requested_ips("10.9.0.1");
  CHECK(f.svc->Add(gateway).error().code() == 102);
  auto junk = Add("c3", "web-2");
  junk.add_requested_ips("10.9.0.x");
  CHECK(f.svc->Add(junk).error().code() == 7);
  auto moved = Add("c4", "virt-launcher-vm1-fghij");
  moved.add_requested_ips("10.9.0.60");
  CHECK(f.svc->Add(moved).error().code() == 106);
  CHECK(f.Rows("leases") == 1);
}

TEST_CASE("exhaustion is code 100 and leaves the database unchanged") {
  Fixture f;
  auto pool = Pool1("10.9.0.0/30");  // .2 only (.1 is the gateway)
  Ip(f.svc->Add(Add("c1", "web-1", pool)));
  int64_t events = f.Rows("events");
  auto r = f.svc->Add(Add("c2", "web-2", pool));
  CHECK(r.error().code() == 100);
  CHECK(f.Rows("events") == events);
  CHECK(f.Rows("attachments") == 1);
  v1::StatusRequest st;
  st.set_network("net1");
  *st.mutable_pool() = pool;
  CHECK(f.svc->Status(st).error().code() == 50);
}

TEST_CASE("bad input leaves the database unchanged") {
  Fixture f;
  CHECK(f.svc->Add(Add("c1", "web-1", Pool1("10.9.0.0/33"))).error().code() == 7);
  auto bad_cid = Add("bad/id", "web-1");
  CHECK(f.svc->Add(bad_cid).error().code() == 4);
  auto bad_if = Add("c1", "web-1");
  bad_if.mutable_caller()->set_ifname("this-name-is-too-long");
  CHECK(f.svc->Add(bad_if).error().code() == 4);
  auto no_netns = Add("c1", "web-1");
  no_netns.mutable_caller()->set_netns("");
  CHECK(f.svc->Add(no_netns).error().code() == 4);
  auto huge = Add("c1", "web-1");
  huge.mutable_caller()->set_pod_name(std::string(5000, 'a'));
  CHECK(f.svc->Add(huge).error().code() == 4);
  CHECK(f.Rows("pools") == 0);
  CHECK(f.Rows("leases") == 0);
  CHECK(f.Rows("events") == 0);
}

TEST_CASE("a restart keeps every lease and never hands out a taken address") {
  Fixture f;
  std::string vm_ip = Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde")));
  Ip(f.svc->Add(Add("p1", "web-1")));
  f.svc->Del(Del("p1"));  // .3 released
  f.Open();
  CHECK(Ip(f.svc->Add(Add("p2", "web-2"))) == "10.9.0.4/24");
  CHECK(Ip(f.svc->Add(Add("c2", "virt-launcher-vm1-xyzab"))) == vm_ip);
  // DEL after restart releases through the reloaded allocator.
  CHECK(f.svc->Del(Del("p2")).error().code() == 0);
  CHECK(f.svc->ListPools().pools(0).used() == 1);
}

TEST_CASE("a config that no longer contains a bound address refuses ADD with 103") {
  Fixture f;
  Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde")));
  f.svc->Del(Del("c1"));
  auto r = f.svc->Add(Add("c2", "virt-launcher-vm1-fghij", Pool1("10.20.0.0/24")));
  CHECK(r.error().code() == 103);
  CHECK(r.error().msg().find("10.9.0.2") != std::string::npos);
  CHECK(f.svc->ListPools().pools(0).out_of_range() == 1);
}

TEST_CASE("CHK-2: CHECK finds the lease and compares prevResult") {
  Fixture f;
  Ip(f.svc->Add(Add("c1", "web-1")));
  v1::CheckRequest chk;
  *chk.mutable_caller() = Add("c1", "web-1").caller();
  *chk.mutable_pool() = Pool1();
  chk.add_expected_ips("10.9.0.2/24");
  CHECK(f.svc->Check(chk).error().code() == 0);
  chk.set_expected_ips(0, "10.9.0.9/24");
  CHECK(f.svc->Check(chk).error().code() == 106);
  chk.mutable_caller()->set_container_id("c9");
  CHECK(f.svc->Check(chk).error().code() == 105);
}

TEST_CASE("GC-3: attachments not in the valid list are dropped") {
  Fixture f;
  Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde")));
  Ip(f.svc->Add(Add("p1", "web-1")));
  Ip(f.svc->Add(Add("p2", "web-2")));
  v1::GcRequest gc;
  gc.set_network("net1");
  auto* keep = gc.add_valid();
  keep->set_container_id("p2");
  keep->set_ifname("eth0");
  auto r = f.svc->Gc(gc);
  CHECK(r.error().code() == 0);
  CHECK(r.dropped() == 2);
  auto leases = f.svc->ListLeases({});
  REQUIRE(leases.leases_size() == 2);  // the VM (detached) and p2
  CHECK(leases.leases(0).state() == "detached");
  CHECK(leases.leases(1).owner() == "p2");
}

TEST_CASE("leases filters by namespace, vm and state") {
  Fixture f;
  Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde")));
  Ip(f.svc->Add(Add("p1", "web-1")));
  v1::ListLeasesRequest q;
  q.mutable_filter()->set_vm("vm1");
  CHECK(f.svc->ListLeases(q).leases_size() == 1);
  q.mutable_filter()->set_vm("default/vm1");
  CHECK(f.svc->ListLeases(q).leases_size() == 1);
  q.mutable_filter()->set_vm("other/vm1");
  CHECK(f.svc->ListLeases(q).leases_size() == 0);
  v1::ListLeasesRequest s;
  s.mutable_filter()->set_state("detached");
  CHECK(f.svc->ListLeases(s).leases_size() == 0);
}

TEST_CASE("spooled DELs are replayed and removed") {
  Fixture f;
  Ip(f.svc->Add(Add("p1", "web-1")));
  std::string spool = f.dir + "/spool";
  REQUIRE(mkdir(spool.c_str(), 0700) == 0);
  std::string bytes;
  Del("p1").SerializeToString(&bytes);
  std::ofstream(spool + "/del-net1-p1-eth0.pb", std::ios::binary) << bytes;
  std::ofstream(spool + "/junk.pb", std::ios::binary) << "\xff\xff\xff";
  CHECK(ReplaySpool(spool, *f.svc) == 1);
  CHECK(f.Rows("leases") == 0);
  CHECK(access((spool + "/del-net1-p1-eth0.pb").c_str(), F_OK) != 0);
  CHECK(access((spool + "/junk.pb.bad").c_str(), F_OK) == 0);
}

TEST_CASE("release is refused while attached, allowed with force, and frees the address") {
  Fixture f;
  std::string ip = Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde")));
  v1::ReleaseRequest rel;
  rel.set_vm("default/vm1");
  auto refused = f.svc->Release(rel);
  CHECK(refused.error().code() == 108);
  CHECK(refused.error().msg().find("c1") != std::string::npos);
  CHECK(f.Rows("leases") == 1);
  rel.set_force(true);
  auto done = f.svc->Release(rel);
  REQUIRE(done.error().code() == 0);
  CHECK(done.ips(0) == "10.9.0.2");
  CHECK(f.Rows("leases") == 0);
  CHECK(f.Rows("attachments") == 0);
  CHECK(f.svc->Release(rel).error().code() == 105);
  CHECK(f.svc->CheckIntegrity(f.dir + "/spool").problems_size() == 0);
}

TEST_CASE("reservations: never allocated, claimed by a VM, returned on release") {
  Fixture f;
  Ip(f.svc->Add(Add("c0", "web-0")));  // configures the pool (.2)
  v1::ReserveRequest res;
  res.set_network("net1");
  res.set_name("vip1");
  res.set_count(2);
  auto r = f.svc->Reserve(res);
  REQUIRE(r.error().code() == 0);
  CHECK(r.ips_size() == 2);
  CHECK(r.ips(0) == "10.9.0.3");
  CHECK(Ip(f.svc->Add(Add("p1", "web-1"))) == "10.9.0.5/24");  // reserved ones are skipped
  auto claim = Add("c1", "virt-launcher-vm1-abcde");
  claim.mutable_caller()->set_reservation("vip1");
  CHECK(Ip(f.svc->Add(claim)) == "10.9.0.3/24");
  auto unknown = Add("c2", "virt-launcher-vm2-abcde");
  unknown.mutable_caller()->set_reservation("nope");
  CHECK(f.svc->Add(unknown).error().code() == 104);
  v1::ReleaseRequest rel;
  rel.set_vm("default/vm1");
  rel.set_force(true);
  REQUIRE(f.svc->Release(rel).error().code() == 0);
  v1::ListLeasesRequest q;
  q.mutable_filter()->set_owner("vip1");
  CHECK(f.svc->ListLeases(q).leases_size() == 2);  // back with the reservation
  v1::UnreserveRequest un;
  un.set_network("net1");
  un.set_name("vip1");
  CHECK(f.svc->Unreserve(un).released() == 2);
  CHECK(f.svc->ListLeases(q).leases_size() == 0);
  CHECK(f.svc->Unreserve(un).error().code() == 104);
  CHECK(f.svc->CheckIntegrity(f.dir + "/spool").problems_size() == 0);
}

TEST_CASE("reserve validates its input and leaves the database unchanged") {
  Fixture f;
  v1::ReserveRequest res;
  res.set_network("net1");
  res.set_name("vip1");
  CHECK(f.svc->Reserve(res).error().code() == 7);  // no pool yet
  Ip(f.svc->Add(Add("c0", "web-0")));
  int64_t leases = f.Rows("leases");
  res.set_ip("10.10.0.1");
  CHECK(f.svc->Reserve(res).error().code() == 102);
  res.set_ip("10.9.0.2");
  CHECK(f.svc->Reserve(res).error().code() == 101);
  res.set_ip("");
  res.set_name("bad name");
  CHECK(f.svc->Reserve(res).error().code() == 7);
  res.set_name("big");
  res.set_count(300);  // more than the /24 holds: nothing is kept
  CHECK(f.svc->Reserve(res).error().code() == 100);
  CHECK(f.Rows("leases") == leases);
  CHECK(f.svc->CheckIntegrity(f.dir + "/spool").problems_size() == 0);
  CHECK(Ip(f.svc->Add(Add("c1", "web-1"))) == "10.9.0.3/24");
}

TEST_CASE("history records every state change, newest first") {
  Fixture f;
  Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde")));
  f.svc->Del(Del("c1"));
  Ip(f.svc->Add(Add("c2", "virt-launcher-vm1-fghij")));
  v1::HistoryRequest h;
  h.set_vm("default/vm1");
  auto r = f.svc->History(h);
  REQUIRE(r.events_size() == 4);
  CHECK(r.events(0).kind() == "attach");
  CHECK(r.events(0).container_id() == "c2");
  CHECK(r.events(1).kind() == "detach");
  CHECK(r.events(3).kind() == "bind");
  v1::HistoryRequest by_ip;
  by_ip.set_ip("10.9.0.2");
  CHECK(f.svc->History(by_ip).events_size() == 4);
}

TEST_CASE("live migration on one node: two attachments, either DEL leaves the other") {
  Fixture f;
  std::string ip = Ip(f.svc->Add(Add("src", "virt-launcher-vm1-aaaaa")));
  CHECK(Ip(f.svc->Add(Add("dst", "virt-launcher-vm1-bbbbb"))) == ip);
  auto leases = f.svc->ListLeases({});
  REQUIRE(leases.leases_size() == 1);
  CHECK(leases.leases(0).attachments_size() == 2);
  f.svc->Del(Del("src"));  // migration succeeded
  leases = f.svc->ListLeases({});
  REQUIRE(leases.leases(0).attachments_size() == 1);
  CHECK(leases.leases(0).attachments(0).container_id() == "dst");
  CHECK(leases.leases(0).state() == "attached");
}

TEST_CASE("a pool change that makes a bound address the gateway refuses it (103)") {
  Fixture f;
  CHECK(Ip(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde", Pool1("10.9.0.0/29")))) ==
        "10.9.0.2/29");
  v1::PoolConfig moved;
  auto* r = moved.add_range_sets()->add_ranges();
  r->set_subnet("10.9.0.0/29");
  r->set_gateway("10.9.0.2");
  CHECK(f.svc->Add(Add("c1", "virt-launcher-vm1-abcde", moved)).error().code() == 103);
  CHECK(f.svc->Add(Add("c2", "virt-launcher-vm1-fghij", moved)).error().code() == 103);
}

TEST_CASE("reserve saves a pool that only a CHECK had named, so it survives a restart") {
  Fixture f;
  v1::CheckRequest chk;
  *chk.mutable_caller() = Add("c9", "web-9").caller();
  *chk.mutable_pool() = Pool1();
  f.svc->Check(chk);  // the pool is now known in memory only
  v1::ReserveRequest res;
  res.set_network("net1");
  res.set_name("vip1");
  REQUIRE(f.svc->Reserve(res).error().code() == 0);
  f.Open();
  CHECK(f.svc->CheckIntegrity(f.dir + "/spool").problems_size() == 0);
  CHECK(f.svc->ListPools().pools_size() == 1);
}
