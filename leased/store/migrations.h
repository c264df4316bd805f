// Applies the numbered schema/*.sql files (embedded at build time) that the database
// has not seen yet, each in its own transaction, recording PRAGMA user_version.
#pragma once

#include <string>
#include <vector>

#include "error.h"
#include "sqlite_db.h"

namespace vmip {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// Generated from schema/ by CMake (schema_sql.cc).
const std::vector<Migration>& EmbeddedMigrations();

// Brings db to the newest schema; refuses a database newer than this binary.
Result<int> Migrate(SqliteDb& db);

}  // namespace vmip
