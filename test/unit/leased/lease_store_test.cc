// LeaseStore lookups against a real SQLite file: "not found" and "the read failed"
// are different answers, and a DEL that cannot read says "try again" (11).
#include "lease_store.h"

#include <catch2/catch.hpp>
#include <string>

#include "service_test_support.h"
#include "store_test_support.h"

using namespace vmip;
using namespace vmip::testing;

TEST_CASE("store lookups tell not found from a failed read") {
  Dir d;
  std::string db = d.path + "/leases.db";
  auto store = std::move(LeaseStore::Open(db).value());
  auto none = store->FindLease("net1", OwnerKind::kVm, "default/vm1", "eth0");
  REQUIRE(none.ok());
  CHECK(!none.value());
  REQUIRE(store->FindAttachment("net1", "c1", "eth0").ok());
  CHECK(!store->FindAttachment("net1", "c1", "eth0").value());
  REQUIRE(store->FindHolder("net1", "10.9.0.2").ok());
  CHECK(!store->FindLeaseById(42).value());
  store->Idle();

  Sql(db, "ALTER TABLE leases RENAME TO leases_gone; ALTER TABLE attachments RENAME TO atts_gone");
  CHECK(!store->FindLease("net1", OwnerKind::kVm, "default/vm1", "eth0").ok());
  CHECK(!store->FindLeaseById(1).ok());
  auto att = store->FindAttachment("net1", "c1", "eth0");
  REQUIRE(!att.ok());
  CHECK(att.error().code == 11);
  store->Idle();
  Sql(db, "ALTER TABLE addresses RENAME TO addrs_gone");
  CHECK(!store->FindHolder("net1", "10.9.0.2").ok());
}

TEST_CASE("DEL whose attachment read fails answers 11 and keeps the attachment") {
  ServiceOnDisk n;
  auto& svc = *n.svc;
  auto& store = n.store;
  const std::string& db = n.db;
  REQUIRE(svc.Add(PodAdd("c1")).error().code() == 0);

  Sql(db, "ALTER TABLE attachments RENAME TO atts_gone");
  auto failed = svc.Del(PodDel("c1"));
  CHECK(failed.error().code() == 11);
  CHECK(failed.error().msg().find("attachments") != std::string::npos);
  Sql(db, "ALTER TABLE atts_gone RENAME TO attachments");
  CHECK(store->Count("attachments").value() == 1);  // nothing was lost: the retry works
  CHECK(svc.Del(PodDel("c1")).error().code() == 0);
  CHECK(store->Count("attachments").value() == 0);
  CHECK(store->Count("leases").value() == 0);
}
