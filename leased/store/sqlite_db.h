// A thin RAII layer over the SQLite C API: a connection and cached prepared
// statements. SQLite failures become Error values (code 11: try again later).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "error.h"

namespace vmip {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds 1-based parameters; resets any previous execution first.
  Statement& Reset();
  Statement& Bind(int i, int64_t v);
  Statement& Bind(int i, const std::string& v);
  // SQLITE_ROW -> true, SQLITE_DONE -> false; errors leave `error` set.
  bool Step();
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string Text(int col) const;
  bool failed() const { return rc_ != SQLITE_OK && rc_ != SQLITE_ROW && rc_ != SQLITE_DONE; }
  int rc() const { return rc_; }

 private:
  sqlite3_stmt* stmt_;
  int rc_ = SQLITE_OK;
};

class SqliteDb {
 public:
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  // A second connection that only reads (WAL: it reads the last commit while the
  // writer works). The database must exist and be migrated.
  static Result<std::unique_ptr<SqliteDb>> OpenReadOnly(const std::string& path);
  ~SqliteDb();

  // Runs one or more statements with no results.
  Error Exec(const std::string& sql);
  // A prepared statement cached by its text; valid until the database closes.
  Statement& Prepare(const std::string& sql);
  Error LastError(const std::string& what) const;
  int64_t LastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  // Ends every cached statement's read, so no snapshot stays open between requests.
  void ResetAll();
  sqlite3* raw() { return db_; }

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace vmip
