// Shared by the unit tests that drive a LeaseService on a real SQLite file: a
// scratch directory, SQL run on a second connection, and plugin-shaped requests.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "vmip.pb.h"

namespace vmip::testing {

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/vmip-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Dir() { std::system(("rm -rf " + path).c_str()); }
};

// Another connection changes the database under the store (a renamed table, a
// trigger): the store's next statements see it, as they would a damaged file.
inline void Sql(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(h);
  REQUIRE(rc == SQLITE_OK);
}

inline v1::AddRequest PodAdd(const std::string& cid) {
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

inline v1::DelRequest PodDel(const std::string& cid) {
  v1::DelRequest r;
  r.mutable_caller()->set_network("net1");
  r.mutable_caller()->set_container_id(cid);
  r.mutable_caller()->set_ifname("eth0");
  return r;
}

}  // namespace vmip::testing
