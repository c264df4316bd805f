// Group commit against a real SQLite file: ADDs and DELs queued behind the service
// lock run as one transaction with one commit; a member that fails loses only its
// own part; a commit that fails fails every member and leaves the free sets as the
// table is. Groups are made deterministic by holding the lock while they queue.
#include "commit_group.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lease_service.h"
#include "service_test_support.h"
#include "store_test_support.h"

using namespace vmip;
using namespace vmip::testing;

namespace {

struct Node : ServiceOnDisk {
  // Runs these calls on threads, all queued before any runs: one group.
  void AsOneGroup(const std::vector<std::function<void()>>& calls) {
    std::vector<std::thread> callers;
    {
      auto hold = svc->commits().Hold();
      for (const auto& call : calls) callers.emplace_back(call);
      // Bounded: 10 s for a handful of threads to queue.
      for (int t = 0; t < 10000 && svc->commits().queued() < calls.size(); t++)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      REQUIRE(svc->commits().queued() == calls.size());
    }
    for (auto& t : callers) t.join();
  }

  std::vector<v1::AddReply> AddAsOneGroup(const std::vector<std::string>& cids) {
    std::vector<v1::AddReply> replies(cids.size());
    std::vector<std::function<void()>> calls;
    for (size_t i = 0; i < cids.size(); i++)
      calls.push_back([this, &replies, &cids, i] { replies[i] = svc->Add(PodAdd(cids[i])); });
    AsOneGroup(calls);
    return replies;
  }

  std::vector<std::string> Problems() {
    auto r = svc->CheckIntegrity(dir + "/spool");
    return {r.problems().begin(), r.problems().end()};
  }
};

}  // namespace

TEST_CASE("commit group: ADDs that queue together share one commit and all persist") {
  Node n;
  uint64_t groups = n.svc->commits().groups();
  auto replies = n.AddAsOneGroup({"c1", "c2", "c3", "c4"});
  CHECK(n.svc->commits().groups() == groups + 1);
  std::set<std::string> ips;
  for (const auto& r : replies) {
    REQUIRE(r.error().code() == 0);
    ips.insert(r.ips(0).address());
  }
  CHECK(ips.size() == 4);  // each member saw the addresses the ones before it took
  CHECK(n.Problems().empty());
  // Durable: a fresh connection after the service is gone sees all four.
  n.svc.reset();
  n.store.reset();
  auto reopened = std::move(LeaseStore::Open(n.db).value());
  CHECK(reopened->Count("leases").value() == 4);
  CHECK(reopened->Count("attachments").value() == 4);
}

TEST_CASE("commit group: a failing member rolls back only its own part") {
  Node n;
  // The ADD of container "bad" writes its lease and address, then its attachment fails.
  Sql(n.db,
      "CREATE TRIGGER fail_bad BEFORE INSERT ON attachments WHEN NEW.container_id = 'bad' "
      "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END");
  auto replies = n.AddAsOneGroup({"ok1", "bad", "ok2"});
  CHECK(replies[0].error().code() == 0);
  CHECK(replies[2].error().code() == 0);
  CHECK(replies[1].error().code() == 11);
  CHECK(replies[1].error().msg().find("refused by test trigger") != std::string::npos);
  CHECK(n.store->Count("leases").value() == 2);
  CHECK(n.store->Count("addresses").value() == 2);
  CHECK(n.Problems().empty());
  auto leases = n.svc->ListLeases({});
  for (const auto& l : leases.leases()) CHECK(l.owner() != "default/web-bad");
}

TEST_CASE("commit group: a failed commit fails every member and rebuilds the free sets") {
  Node n;
  REQUIRE(n.svc->Add(PodAdd("before")).error().code() == 0);
  // A deferred foreign key is checked only at COMMIT: one member's lease row makes
  // the whole group's commit fail.
  Sql(n.db,
      "CREATE TABLE bomb(lease_id INTEGER REFERENCES leases(id) DEFERRABLE INITIALLY DEFERRED);"
      "CREATE TRIGGER arm AFTER INSERT ON leases WHEN NEW.owner LIKE '%boom%' "
      "BEGIN INSERT INTO bomb VALUES(-1); END");
  auto replies = n.AddAsOneGroup({"a1", "boom", "a2"});
  for (const auto& r : replies) {
    CHECK(r.error().code() == 11);
    CHECK(r.error().msg().find("FOREIGN KEY") != std::string::npos);
  }
  CHECK(n.store->Count("leases").value() == 1);
  CHECK(n.Problems().empty());  // no address taken in memory that the table does not bind
  Sql(n.db, "DROP TRIGGER arm");
  // The group's addresses are free again: the next ADD gets the first of them.
  CHECK(n.svc->Add(PodAdd("after")).ips(0).address() == "10.9.0.3/24");
}

TEST_CASE("commit group: a DEL whose group commit fails keeps its lease, in memory too") {
  Node n;
  REQUIRE(n.svc->Add(PodAdd("c1")).error().code() == 0);
  Sql(n.db,
      "CREATE TABLE bomb(lease_id INTEGER REFERENCES leases(id) DEFERRABLE INITIALLY DEFERRED);"
      "CREATE TRIGGER arm AFTER INSERT ON leases WHEN NEW.owner LIKE '%boom%' "
      "BEGIN INSERT INTO bomb VALUES(-1); END");
  v1::DelReply del;
  v1::AddReply add;
  n.AsOneGroup(
      {[&] { del = n.svc->Del(PodDel("c1")); }, [&] { add = n.svc->Add(PodAdd("boom")); }});
  CHECK(del.error().code() == 11);
  CHECK(add.error().code() == 11);
  CHECK(n.store->Count("attachments").value() == 1);
  CHECK(n.Problems().empty());  // c1's address is still taken in memory
}
