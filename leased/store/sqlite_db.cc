#include "sqlite_db.h"

#include <cstdlib>

namespace vmip {

Statement& Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  rc_ = SQLITE_OK;
  return *this;
}

Statement& Statement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Statement& Statement::Bind(int i, const std::string& v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

bool Statement::Step() {
  rc_ = sqlite3_step(stmt_);
  return rc_ == SQLITE_ROW;
}

std::string Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : "";
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  if (rc != SQLITE_OK) return db->LastError("cannot open database " + path);
  sqlite3_extended_result_codes(raw, 1);
  // WAL + synchronous=FULL: a commit is on disk (WAL fsync'd) before we answer.
  Error e = db->Exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
      "PRAGMA busy_timeout=5000;");
  if (e.code)
    e.msg = "cannot use database " + path + " (" + e.msg +
            "); refusing to serve from it: restore a backup or move it aside";
  if (e.code) return e;
  return db;
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::OpenReadOnly(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  if (rc != SQLITE_OK) return db->LastError("cannot open database " + path + " to read");
  sqlite3_extended_result_codes(raw, 1);
  if (Error e = db->Exec("PRAGMA busy_timeout=5000;"); e.code) return e;
  return db;
}

SqliteDb::~SqliteDb() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

Error SqliteDb::Exec(const std::string& sql) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
  if (rc == SQLITE_OK) return Error{};
  std::string text = msg ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return MakeError(kTryAgainLater, "database error: " + text);
}

Statement& SqliteDb::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second->Reset();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    // A statement that does not compile is a programming error, not a runtime state.
    fprintf(stderr, "vmip-leased: bad SQL (%s): %s\n", sqlite3_errmsg(db_), sql.c_str());
    std::abort();
  }
  auto& slot = cache_[sql];
  slot = std::make_unique<Statement>(stmt);
  return *slot;
}

void SqliteDb::ResetAll() {
  for (auto& [sql, stmt] : cache_) stmt->Reset();
}

Error SqliteDb::LastError(const std::string& what) const {
  return MakeError(kTryAgainLater, what + ": " + sqlite3_errmsg(db_));
}

}  // namespace vmip
