// LeaseStore lookups against a real SQLite file: "not found" and "the read failed"
// are different answers, and a DEL that cannot read says "try again" (11).
#include "lease_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "lease_service.h"

using namespace vmip;

namespace {

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/vmip-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Dir() { std::system(("rm -rf " + path).c_str()); }
};

// Another connection renames a table under the store: its next read of that
// table fails ("no such table"), as a damaged or locked database would.
void Sql(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(h);
  REQUIRE(rc == SQLITE_OK);
}

v1::AddRequest PodAdd(const std::string& cid) {
  v1::AddRequest r;
  auto* c = r.mutable_caller();
  c->set_network("net1");
  c->set_container_id(cid);
  c->set_ifname("eth0");
  c->set_netns("/run/netns/" + cid);
  c->set_pod_namespace("default");
  c->set_pod_name("web-" + cid);
  r.mutable_pool()->add_range_sets()->add_ranges()->set_subnet("10.9.0.0/24");
  return r;
}

v1::DelRequest PodDel(const std::string& cid) {
  v1::DelRequest r;
  r.mutable_caller()->set_network("net1");
  r.mutable_caller()->set_container_id(cid);
  r.mutable_caller()->set_ifname("eth0");
  return r;
}

}  // namespace

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
  Dir d;
  std::string db = d.path + "/leases.db";
  auto store = std::move(LeaseStore::Open(db).value());
  LeaseService svc(store.get(), "node-a", [] { return int64_t(1000); });
  REQUIRE(svc.Load().code == 0);
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
