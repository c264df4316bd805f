// Lease policies (issue 16) on a real SQLite file with an injected clock: detached
// bindings that expire, a stopped VM that moves, history kept in bounds.
#include <catch2/catch.hpp>
#include <ctime>
#include <string>

#include "lease_service.h"
#include "migrations.h"
#include "service_test_support.h"

using namespace vmip;
using namespace vmip::testing;

namespace {

struct Policies : ServiceOnDisk {
  // An ADD on net1 (10.9.0.0/24, or what the test set in pool) that may ask for an ip.
  v1::AddRequest Add(const std::string& cid, const std::string& pod, const std::string& ip = "") {
    v1::AddRequest r = testing::Add(cid, pod, pool);
    if (!ip.empty()) r.add_requested_ips(ip);
    return r;
  }
  std::string AddOk(const std::string& cid, const std::string& pod, const std::string& ip = "") {
    return Ip(svc->Add(Add(cid, pod, ip)));
  }
  void Del(const std::string& cid) { REQUIRE(svc->Del(testing::Del(cid)).error().code() == 0); }
  std::optional<v1::Lease> LeaseOf(const std::string& owner) {
    v1::ListLeasesReply reply = svc->ListLeases({});
    for (const auto& l : reply.leases())
      if (l.owner() == owner) return l;
    return std::nullopt;
  }
  std::vector<std::string> Kinds(const std::string& ip) {
    v1::HistoryRequest h;
    h.set_ip(ip);
    std::vector<std::string> out;
    v1::HistoryReply reply = svc->History(h);
    for (const auto& e : reply.events()) out.push_back(e.kind());
    return out;
  }
  uint64_t Used() { return svc->ListPools().pools(0).used(); }
  // The invariant: no address is bound twice, and the table agrees with the free sets.
  void NoTwoOwners() {
    CHECK(store->DuplicateAddresses().value().empty());
    auto check = svc->CheckIntegrity(dir + "/no-spool");
    CHECK(check.problems_size() == 0);
  }

  v1::PoolConfig pool = Pool1();
};

bool Has(const std::vector<std::string>& kinds, const std::string& kind) {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

}  // namespace

TEST_CASE("policies: detached_at is set by the DEL of the last attachment and cleared by attach") {
  Policies p;
  p.AddOk("src", "virt-launcher-vm1-aaaaa");
  p.AddOk("dst", "virt-launcher-vm1-bbbbb");  // a live migration: two attachments
  p.now = 1010;
  p.Del("src");
  CHECK(p.LeaseOf("default/vm1")->detached_at() == 0);
  p.now = 1020;
  p.Del("dst");
  CHECK(p.LeaseOf("default/vm1")->detached_at() == 1020);
  p.now = 1030;
  p.AddOk("again", "virt-launcher-vm1-ccccc");
  CHECK(p.LeaseOf("default/vm1")->detached_at() == 0);
}

TEST_CASE("policies: a VM detached longer than the TTL expires and its address is free again") {
  Policies p;
  p.svc->SetDetachedTtl(100);
  std::string ip = p.AddOk("c1", "virt-launcher-vm1-aaaaa");
  p.AddOk("pod1", "web-1");
  p.Del("c1");  // detached at 1000
  p.now = 1099;
  p.svc->ExpireDetached();
  REQUIRE(p.LeaseOf("default/vm1"));
  CHECK(p.Used() == 2);
  p.now = 1100;
  p.svc->ExpireDetached();
  CHECK_FALSE(p.LeaseOf("default/vm1"));
  CHECK(p.Used() == 1);
  CHECK(Has(p.Kinds("10.9.0.2"), "expire"));
  CHECK_FALSE(Has(p.Kinds("10.9.0.2"), "release"));
  // The freed address can be requested by someone else now.
  CHECK(p.AddOk("pod2", "web-2", "10.9.0.2") == ip);
  p.NoTwoOwners();
}

TEST_CASE("policies: re-attaching before the deadline keeps the address and the clock restarts") {
  Policies p;
  p.svc->SetDetachedTtl(100);
  std::string ip = p.AddOk("c1", "virt-launcher-vm1-aaaaa");
  p.Del("c1");  // 1000
  p.now = 1090;
  CHECK(p.AddOk("c2", "virt-launcher-vm1-bbbbb") == ip);
  p.now = 1095;
  p.Del("c2");  // the clock starts again here
  p.now = 1194;
  p.svc->ExpireDetached();
  CHECK(p.LeaseOf("default/vm1"));
  p.now = 1195;
  p.svc->ExpireDetached();
  CHECK_FALSE(p.LeaseOf("default/vm1"));
  p.NoTwoOwners();
}

TEST_CASE("policies: an attached VM and a reservation never expire") {
  Policies p;
  p.svc->SetDetachedTtl(10);
  p.AddOk("c1", "virt-launcher-vm1-aaaaa");
  v1::ReserveRequest r;
  r.set_network("net1");
  r.set_name("vip");
  r.set_ip("10.9.0.77");
  REQUIRE(p.svc->Reserve(r).error().code() == 0);
  p.now = 1000 + 86400 * 365;
  p.svc->ExpireDetached();
  CHECK(p.LeaseOf("default/vm1"));
  CHECK(p.LeaseOf("vip"));
  CHECK(p.Used() == 2);
  p.NoTwoOwners();
}

TEST_CASE("policies: the network's ipam.detachedTTL wins over the daemon's") {
  Policies p;
  p.svc->SetDetachedTtl(0);  // the daemon: never
  p.pool.set_detached_ttl_seconds(50);
  p.AddOk("c1", "virt-launcher-vm1-aaaaa");
  p.Del("c1");
  p.now = 1050;
  p.svc->ExpireDetached();
  CHECK_FALSE(p.LeaseOf("default/vm1"));

  p.svc->SetDetachedTtl(10);  // the daemon: soon; the network: never
  p.pool.set_detached_ttl_seconds(0);
  p.AddOk("c2", "virt-launcher-vm2-aaaaa");
  p.Del("c2");
  p.now += 100000;
  p.svc->ExpireDetached();
  CHECK(p.LeaseOf("default/vm2"));
}

TEST_CASE("policies: a detached VM that asks for another free address moves there") {
  Policies p;
  std::string old_ip = p.AddOk("c1", "virt-launcher-vm1-aaaaa");
  REQUIRE(old_ip == "10.9.0.2/24");
  p.Del("c1");
  p.now = 1010;
  CHECK(p.AddOk("c2", "virt-launcher-vm1-bbbbb", "10.9.0.60") == "10.9.0.60/24");
  auto lease = p.LeaseOf("default/vm1");
  REQUIRE(lease);
  REQUIRE(lease->ips_size() == 1);
  CHECK(lease->ips(0) == "10.9.0.60");
  CHECK(lease->state() == "attached");
  CHECK(p.Used() == 1);
  CHECK(Has(p.Kinds("10.9.0.60"), "move"));
  CHECK(Has(p.Kinds("10.9.0.2"), "release"));
  // The old address is free: another owner may ask for it.
  CHECK(p.AddOk("pod1", "web-1", "10.9.0.2") == "10.9.0.2/24");
  CHECK(p.store->Count("leases").value() == 2);
  p.NoTwoOwners();
}

TEST_CASE("policies: a move is refused while the VM is attached or to a held address") {
  Policies p;
  p.AddOk("c1", "virt-launcher-vm1-aaaaa");
  p.AddOk("pod1", "web-1", "10.9.0.50");
  auto running = p.svc->Add(p.Add("c2", "virt-launcher-vm1-bbbbb", "10.9.0.60"));
  CHECK(running.error().code() == 106);
  CHECK(running.error().msg().find("attached to container c1") != std::string::npos);
  p.Del("c1");
  auto held = p.svc->Add(p.Add("c3", "virt-launcher-vm1-ccccc", "10.9.0.50"));
  CHECK(held.error().code() == 101);
  CHECK(held.error().msg().find("web-1") == std::string::npos);  // pods are named by container
  CHECK(held.error().msg().find("pod pod1") != std::string::npos);
  CHECK(p.LeaseOf("default/vm1")->ips(0) == "10.9.0.2");
  CHECK(p.store->Count("attachments").value() == 1);
  p.NoTwoOwners();
}

TEST_CASE("policies: history retention deletes old events in batches of 500") {
  Policies p;
  REQUIRE(p.store->Begin().code == 0);
  for (int i = 0; i < 10600; i++)
    REQUIRE(p.store
                ->AppendEvent(EventRow{100 + i / 100, "net1", EventKind::kBind, "vm:x", "10.9.0.9",
                                       "", "", ""})
                .code == 0);
  REQUIRE(
      p.store->AppendEvent(EventRow{900, "net1", EventKind::kBind, "vm:y", "10.9.0.8", "", "", ""})
          .code == 0);
  REQUIRE(p.store->Commit().code == 0);
  p.now = 1000;
  CHECK(p.svc->PruneHistory() == 0);      // retention 0: kept forever
  p.svc->SetHistoryRetention(200);        // older than 800 goes
  CHECK(p.svc->PruneHistory() == 10000);  // one run: at most 20 batches of 500
  CHECK(p.svc->PruneHistory() == 600);
  CHECK(p.svc->PruneHistory() == 0);
  CHECK(p.store->Count("events").value() == 1);
  v1::HistoryRequest h;
  auto reply = p.svc->History(h);
  CHECK(reply.oldest_at() == 900);
  CHECK(reply.retention_seconds() == 200);
}

TEST_CASE("policies: schema 5 starts the TTL of already detached VMs at the upgrade") {
  Dir d;
  std::string path = d.path + "/leases.db";
  {  // a version 4 database: one detached VM, one attached VM, one reservation
    auto db = std::move(SqliteDb::Open(path).value());
    for (const Migration& m : EmbeddedMigrations())
      if (m.version <= 4) REQUIRE(db->Exec(m.sql).code == 0);
    REQUIRE(
        db->Exec(
              "PRAGMA user_version = 4;"
              "INSERT INTO leases(id, network, owner_kind, owner, ifname, created_at) VALUES"
              " (1, 'n', 'vm', 'ns/stopped', 'eth0', 5), (2, 'n', 'vm', 'ns/running', 'eth0', 5),"
              " (3, 'n', 'reservation', 'r', '#x', 5);"
              "INSERT INTO attachments(network, container_id, ifname, lease_id, attached_at)"
              " VALUES ('n', 'c', 'eth0', 2, 5);")
            .code == 0);
  }
  int64_t before = time(nullptr);
  auto store = std::move(LeaseStore::Open(path).value());
  CHECK(store->schema_version() == 7);  // 0006 rebuilds leases: detached_at must survive it
  auto at = [&](int64_t id) { return store->FindLeaseById(id).value()->detached_at; };
  CHECK(at(1) >= before);  // now, not its last event (none) nor 0 (never expiring)
  CHECK(at(1) <= time(nullptr));
  CHECK(at(2) == 0);
  CHECK(at(3) == 0);
}
