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
  for (const Migration& m : all) {
    if (m.version <= current) continue;
    std::string sql = std::string("BEGIN IMMEDIATE;") + m.sql +
                      ";PRAGMA user_version=" + std::to_string(m.version) + ";COMMIT;";
    Error e = db.Exec(sql);
    if (e.code) {
      db.Exec("ROLLBACK");
      e.msg = std::string("schema migration ") + m.name + " failed: " + e.msg;
      return e;
    }
    current = m.version;
  }
  return current;
}

}  // namespace vmip
