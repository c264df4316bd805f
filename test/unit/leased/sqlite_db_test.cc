// The durability settings SqliteDb::Open promises: an acknowledged commit is on disk.
// synchronous is a per-connection setting, not stored in the file, so no test that opens
// the database file from outside can see it; this one asks the daemon's own connection.
#include "sqlite_db.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

using namespace vmip;

namespace {

std::string QueryText(SqliteDb& db, const std::string& sql) {
  Statement& st = db.Prepare(sql);
  st.Reset();
  REQUIRE(st.Step());
  return st.Text(0);
}

}  // namespace

TEST_CASE("SqliteDb::Open: WAL, synchronous=FULL, foreign keys on") {
  char tmpl[] = "/tmp/vmip-unit-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string path = dir + "/leases.db";
  {
    auto db = SqliteDb::Open(path);
    REQUIRE(db.ok());
    CHECK(QueryText(*db.value(), "PRAGMA journal_mode") == "wal");
    CHECK(QueryText(*db.value(), "PRAGMA synchronous") == "2");  // 2 is FULL
    CHECK(QueryText(*db.value(), "PRAGMA foreign_keys") == "1");
  }
  std::string rm = "rm -rf '" + dir + "'";
  CHECK(std::system(rm.c_str()) == 0);
}
