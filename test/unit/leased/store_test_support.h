// Shared by the unit tests that use a real SQLite file: a scratch directory and SQL
// run on a second connection. service_test_support.h adds a LeaseService on top.
#pragma once

#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace vmip::testing {

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/vmip-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Dir() { std::system(("rm -rf " + path).c_str()); }
  // Writes a file in the directory; returns its path.
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
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

}  // namespace vmip::testing
