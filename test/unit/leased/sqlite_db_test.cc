// The durability settings SqliteDb::Open promises: an acknowledged commit is on disk.
// synchronous is a per-connection setting, not stored in the file, so no test that opens
// the database file from outside can see it; this one asks the daemon's own connection.
#include "sqlite_db.h"

#include <dirent.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <climits>
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

// Open files of this process that are SQLite temp files (created, then unlinked at once,
// so only /proc/self/fd still names them).
int OpenSqliteTempFiles() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  REQUIRE(d);
  while (dirent* e = readdir(d)) {
    char target[PATH_MAX] = {};
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    if (readlink(link.c_str(), target, sizeof target - 1) > 0 &&
        std::string(target).find("etilqs_") != std::string::npos)
      n++;
  }
  closedir(d);
  return n;
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

// A group commit runs each request in a SAVEPOINT; the prior image of every page the
// request changes goes to a sub-journal, which SQLite spills to a temp file past 64 KiB
// by default (a quarter of the ADDs at 100,000 leases did). A 24-page change (~98 KiB of
// sub-journal) must stay in memory.
TEST_CASE("SqliteDb: a savepoint that changes 24 pages keeps its sub-journal in memory") {
  char tmpl[] = "/tmp/vmip-unit-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    auto db = SqliteDb::Open(dir + "/leases.db");
    REQUIRE(db.ok());
    SqliteDb& d = *db.value();
    REQUIRE(d.Exec("CREATE TABLE t(x BLOB); WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL "
                   "SELECT i + 1 FROM k WHERE i < 40) INSERT INTO t SELECT zeroblob(3000) FROM k")
                .code == 0);
    REQUIRE(d.Exec("BEGIN IMMEDIATE; SAVEPOINT part;"
                   "UPDATE t SET x = randomblob(3000) WHERE rowid <= 24")
                .code == 0);
    CHECK(OpenSqliteTempFiles() == 0);
    CHECK(d.Exec("RELEASE part; COMMIT").code == 0);
  }
  std::string rm = "rm -rf '" + dir + "'";
  CHECK(std::system(rm.c_str()) == 0);
}
