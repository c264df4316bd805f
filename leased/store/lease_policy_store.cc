// The queries of the lease policies (issue 16): when a binding became detached,
// which ones are due to expire, a detached VM moving to another address, and the
// history retention that deletes old events in small batches.
#include "lease_store.h"

namespace vmip {

Error LeaseStore::SetDetachedAt(int64_t lease_id, int64_t at) {
  Statement& q = db_->Prepare("UPDATE leases SET detached_at = ?2 WHERE id = ?1");
  q.Bind(1, lease_id).Bind(2, at);
  return Done(q, "cannot record when lease " + std::to_string(lease_id) + " was detached");
}

Result<std::vector<LeaseRow>> LeaseStore::DetachedSince(const std::string& network, int64_t cutoff,
                                                        int64_t limit) {
  Statement& q = db_->Prepare(
      "SELECT id FROM leases WHERE detached_at != 0 AND detached_at <= ?2 AND network = ?1 AND "
      "owner_kind = 'vm' ORDER BY detached_at, id LIMIT ?3");
  q.Bind(1, network).Bind(2, cutoff).Bind(3, limit);
  std::vector<int64_t> ids;
  while (q.Step()) ids.push_back(q.Int(0));
  if (q.failed()) return db_->LastError("cannot read detached leases");
  std::vector<LeaseRow> out;
  for (int64_t id : ids) {
    auto lease = FindLeaseById(id);
    if (!lease.ok()) return lease.error();
    if (lease.value()) out.push_back(*lease.value());
  }
  return out;
}

Error LeaseStore::MoveAddress(int64_t lease_id, int range_set, const std::string& ip) {
  Statement& q =
      db_->Prepare("UPDATE addresses SET ip = ?3 WHERE lease_id = ?1 AND range_set = ?2");
  q.Bind(1, lease_id).Bind(2, range_set).Bind(3, ip);
  return Done(q, "cannot move lease " + std::to_string(lease_id) + " to " + ip);
}

Result<int64_t> LeaseStore::DeleteEventsBefore(int64_t cutoff, int64_t limit) {
  Statement& q = db_->Prepare(
      "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ?1 ORDER BY at LIMIT ?2)");
  q.Bind(1, cutoff).Bind(2, limit);
  if (Error e = Done(q, "cannot delete old events"); e.code) return e;
  return static_cast<int64_t>(sqlite3_changes(db_->raw()));
}

Result<int64_t> LeaseStore::OldestEventAt() {
  Statement& q = db_->Prepare("SELECT coalesce(min(at), 0) FROM events");
  if (!q.Step()) return db_->LastError("cannot read the oldest event");
  return q.Int(0);
}

}  // namespace vmip
