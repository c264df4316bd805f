#include "migrations.h"

namespace vmip {

Result<int> Migrate(SqliteDb& db) {
  Statement& q = db.Prepare("PRAGMA user_version");
  if (!q.Step()) return db.LastError("cannot read the database schema version");
  int current = static_cast<int>(q.Int(0));
  q.Reset();
  const auto& all = EmbeddedMigrations();
  int newest = all.empty() ? 0 : all.back().version;
  if (current > newest)
    return MakeError(kInternal, "database schema version " + std::to_string(current) +
                                    " is newer than this vmip-leased knows (" +
                                    std::to_string(newest) + "); refusing to use it");
  // Off while migrating (a no-op inside a transaction, so it comes first): a
  // migration that rebuilds a table (SQLite's way to change a constraint) drops the
  // old one, which must not cascade into the rows that reference it.
  if (Error e = db.Exec("PRAGMA foreign_keys=OFF"); e.code) return e;
  for (const Migration& m : all) {
    if (m.version <= current) continue;
    std::string sql = std::string("BEGIN IMMEDIATE;") + m.sql +
                      ";PRAGMA user_version=" + std::to_string(m.version) + ";COMMIT;";
    Error e = db.Exec(sql);
    if (e.code) {
      db.Exec("ROLLBACK");
      db.Exec("PRAGMA foreign_keys=ON");
      e.msg = std::string("schema migration ") + m.name + " failed: " + e.msg;
      return e;
    }
    current = m.version;
  }
  if (Error e = db.Exec("PRAGMA foreign_keys=ON"); e.code) return e;
  return current;
}

}  // namespace vmip
