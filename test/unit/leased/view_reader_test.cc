// LeaseService::SetViewReader (lease_service.h): on a second, read-only connection the
// table views (vmipctl leases and history, the metrics' lease counts, the Kubernetes
// releaser's reads) answer while the service lock is held, and each shows the last commit.
// Without a reader they wait for the lock, as before.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>

#include "gone_owner_board.h"
#include "service_test_support.h"

using namespace vmip;
using namespace std::chrono_literals;

namespace {

// A VM lease with a UID (learned: the unit tests have no API server), and a pod's.
void AddTwo(LeaseService& svc) {
  REQUIRE(svc.Add(testing::Add("c1", "virt-launcher-vm1-abcde")).error().code() == 0);
  REQUIRE(svc.LearnOwnerUid("default/vm1", "uid-1").code == 0);
  REQUIRE(svc.Add(testing::PodAdd("c2")).error().code() == 0);
}

int64_t Leases(LeaseService& svc) {
  auto counts = svc.CountLeasesByState();
  REQUIRE(counts.ok());
  int64_t n = 0;
  for (const LeaseCount& c : counts.value()) n += c.leases;
  return n;
}

}  // namespace

TEST_CASE("view reader: the table views answer while the service lock is held") {
  testing::ServiceOnDisk s;
  AddTwo(*s.svc);
  auto reader = LeaseStore::OpenReader(s.db);
  REQUIRE(reader.ok());
  s.svc->SetViewReader(reader.value().get());
  {
    auto hold = s.svc->commits().Hold();  // as a long commit or a stalled request would
    auto list = std::async(std::launch::async, [&] { return s.svc->ListLeases({}); });
    auto counts = std::async(std::launch::async, [&] { return Leases(*s.svc); });
    auto owners = std::async(std::launch::async, [&] { return s.svc->OwnerUids(); });
    auto learn = std::async(std::launch::async, [&] { return s.svc->VmsWithoutUid(); });
    auto history = std::async(std::launch::async, [&] { return s.svc->History({}); });
    REQUIRE(list.wait_for(5s) == std::future_status::ready);
    REQUIRE(counts.wait_for(5s) == std::future_status::ready);
    REQUIRE(owners.wait_for(5s) == std::future_status::ready);
    REQUIRE(learn.wait_for(5s) == std::future_status::ready);
    REQUIRE(history.wait_for(5s) == std::future_status::ready);
    v1::ListLeasesReply leases = list.get();
    CHECK(leases.error().code() == 0);
    CHECK(leases.leases_size() == 2);
    CHECK(leases.leases(0).attachments_size() == 1);
    CHECK(counts.get() == 2);
    auto o = owners.get();
    REQUIRE(o.ok());
    REQUIRE(o.value().size() == 1);
    CHECK(o.value()[0].uid == "uid-1");
    auto uidless = learn.get();
    REQUIRE(uidless.ok());
    CHECK(uidless.value().empty());
    v1::HistoryReply events = history.get();
    CHECK(events.error().code() == 0);
    CHECK(events.events_size() >= 5);  // bind + attach of each lease, uid-learned
  }
  // Each view ends its read: the next one shows a newer commit.
  REQUIRE(s.svc->Add(testing::PodAdd("c3")).error().code() == 0);
  CHECK(s.svc->ListLeases({}).leases_size() == 3);
  CHECK(Leases(*s.svc) == 3);
  REQUIRE(s.svc->Del(testing::PodDel("c3")).error().code() == 0);
  CHECK(s.svc->ListLeases({}).leases_size() == 2);
}

TEST_CASE("view reader: without one, the views wait for the service lock") {
  testing::ServiceOnDisk s;
  AddTwo(*s.svc);
  std::future<v1::ListLeasesReply> list;
  {
    auto hold = s.svc->commits().Hold();
    list = std::async(std::launch::async, [&] { return s.svc->ListLeases({}); });
    CHECK(list.wait_for(300ms) == std::future_status::timeout);
  }
  REQUIRE(list.wait_for(5s) == std::future_status::ready);
  CHECK(list.get().leases_size() == 2);
}
