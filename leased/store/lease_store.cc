#include "lease_store.h"

#include <map>

#include "migrations.h"

namespace vmip {
namespace {
const char* kLeaseColumns =
    "id, network, owner_kind, owner, owner_uid, ifname, created_at, reservation, cluster_revision, "
    "handed_to, identity_source, detached_at";
const char* kAttachmentColumns =
    "network, container_id, ifname, netns, node, lease_id, attached_at, cluster_token";
}  // namespace

Result<std::unique_ptr<LeaseStore>> LeaseStore::Open(const std::string& path) {
  auto db = SqliteDb::Open(path);
  if (!db.ok()) return db.error();
  std::unique_ptr<LeaseStore> store(new LeaseStore(std::move(db.value())));
  if (Error e = store->QuickCheck(path); e.code) return e;
  auto version = Migrate(*store->db_);
  if (!version.ok()) return version.error();
  store->schema_version_ = version.value();
  return store;
}

Result<std::unique_ptr<LeaseStore>> LeaseStore::OpenReader(const std::string& path) {
  auto db = SqliteDb::OpenReadOnly(path);
  if (!db.ok()) return db.error();
  return std::unique_ptr<LeaseStore>(new LeaseStore(std::move(db.value())));
}

// A damaged file must stop the daemon before it serves a single answer from it.
Error LeaseStore::QuickCheck(const std::string& path) {
  Statement& q = db_->Prepare("PRAGMA quick_check(5)");
  std::string verdict;
  while (q.Step()) verdict += (verdict.empty() ? "" : "; ") + q.Text(0);
  if (q.failed()) verdict = sqlite3_errmsg(db_->raw());
  q.Reset();
  if (verdict == "ok") return Error{};
  return MakeError(kInternal,
                   "database " + path + " is damaged (" + verdict +
                       "); refusing to serve from it: restore a backup or move it aside");
}

Error LeaseStore::Done(Statement& q, const std::string& what) {
  q.Step();
  if (q.failed()) return db_->LastError(what);
  return Error{};
}

Error LeaseStore::Begin() {
  return db_->Exec("BEGIN IMMEDIATE");
}
Error LeaseStore::BeginRead() {
  return db_->Exec("BEGIN");
}
Error LeaseStore::Commit() {
  return db_->Exec("COMMIT");
}
void LeaseStore::Rollback() {
  if (!sqlite3_get_autocommit(db_->raw())) db_->Exec("ROLLBACK");
}
Error LeaseStore::Savepoint() {
  return db_->Exec("SAVEPOINT vmip_part");
}
Error LeaseStore::ReleaseSavepoint() {
  return db_->Exec("RELEASE vmip_part");
}
// After an error SQLite may have rolled back the whole transaction (and so the
// savepoint): then there is nothing left to undo here.
void LeaseStore::RollbackToSavepoint() {
  if (InTransaction()) db_->Exec("ROLLBACK TO vmip_part; RELEASE vmip_part");
}

Error LeaseStore::SavePool(const std::string& network, const std::string& config, int64_t now) {
  Statement& q = db_->Prepare(
      "INSERT INTO pools(network, config, updated_at) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(network) DO UPDATE SET config = ?2, updated_at = ?3 WHERE config != ?2");
  q.Bind(1, network).Bind(2, config).Bind(3, now);
  return Done(q, "cannot save pool " + network);
}

Result<std::vector<std::pair<std::string, std::string>>> LeaseStore::LoadPools() {
  Statement& q = db_->Prepare("SELECT network, config FROM pools ORDER BY network");
  std::vector<std::pair<std::string, std::string>> out;
  while (q.Step()) out.emplace_back(q.Text(0), q.Text(1));
  if (q.failed()) return db_->LastError("cannot read pools");
  return out;
}

// Rows of "SELECT <kAttachmentColumns>".
Result<std::vector<AttachmentRow>> LeaseStore::ReadAttachments(Statement& q) {
  std::vector<AttachmentRow> out;
  while (q.Step())
    out.push_back(AttachmentRow{q.Text(0), q.Text(1), q.Text(2), q.Text(3), q.Text(4), q.Int(5),
                                q.Int(6), q.Text(7)});
  if (q.failed()) return db_->LastError("cannot read attachments");
  return out;
}

LeaseRow LeaseStore::ReadLease(Statement& q) {
  LeaseRow l;
  l.id = q.Int(0);
  l.network = q.Text(1);
  // The schema's CHECK admits only the three names ParseOwnerKind knows.
  l.owner_kind = ParseOwnerKind(q.Text(2)).value_or(OwnerKind::kPod);
  l.owner = q.Text(3);
  l.owner_uid = q.Text(4);
  l.ifname = q.Text(5);
  l.created_at = q.Int(6);
  l.reservation = q.Text(7);
  l.cluster_revision = q.Int(8);
  l.handed_to = q.Text(9);
  l.identity_source = q.Text(10);
  l.detached_at = q.Int(11);
  return l;
}

// The one lease row q selects, with its addresses; nullopt when there is none.
Result<std::optional<LeaseRow>> LeaseStore::ReadOneLease(Statement& q, const std::string& what) {
  if (!q.Step()) {
    if (q.failed()) return db_->LastError("cannot read " + what);
    return std::optional<LeaseRow>{};
  }
  LeaseRow l = ReadLease(q);
  if (Error e = LoadAddresses(l); e.code) return e;
  return std::optional<LeaseRow>{l};
}

Error LeaseStore::LoadAddresses(LeaseRow& lease) {
  Statement& q =
      db_->Prepare("SELECT range_set, ip FROM addresses WHERE lease_id = ?1 ORDER BY range_set");
  q.Bind(1, lease.id);
  while (q.Step()) lease.addresses.push_back(AddressRow{static_cast<int>(q.Int(0)), q.Text(1)});
  if (q.failed()) return db_->LastError("cannot read addresses");
  return Error{};
}

Result<std::optional<LeaseRow>> LeaseStore::FindLease(const std::string& network, OwnerKind kind,
                                                      const std::string& owner,
                                                      const std::string& ifname) {
  Statement& q = db_->Prepare(std::string("SELECT ") + kLeaseColumns +
                              " FROM leases WHERE network = ?1 AND owner_kind = ?2 AND "
                              "owner = ?3 AND ifname = ?4");
  q.Bind(1, network).Bind(2, std::string(OwnerKindName(kind))).Bind(3, owner).Bind(4, ifname);
  return ReadOneLease(q, "the lease of " + std::string(OwnerKindName(kind)) + " " + owner);
}

Result<std::optional<LeaseRow>> LeaseStore::FindLeaseById(int64_t id) {
  Statement& q =
      db_->Prepare(std::string("SELECT ") + kLeaseColumns + " FROM leases WHERE id = ?1");
  q.Bind(1, id);
  return ReadOneLease(q, "lease " + std::to_string(id));
}

Result<std::optional<LeaseRow>> LeaseStore::FindHolder(const std::string& network,
                                                       const std::string& ip) {
  Statement& q = db_->Prepare("SELECT lease_id FROM addresses WHERE network = ?1 AND ip = ?2");
  q.Bind(1, network).Bind(2, ip);
  if (!q.Step()) {
    if (q.failed()) return db_->LastError("cannot read the holder of " + ip);
    return std::optional<LeaseRow>{};
  }
  return FindLeaseById(q.Int(0));
}

Result<std::optional<AttachmentRow>> LeaseStore::FindAttachment(const std::string& network,
                                                                const std::string& container_id,
                                                                const std::string& ifname) {
  Statement& q = db_->Prepare(std::string("SELECT ") + kAttachmentColumns +
                              " FROM attachments WHERE network = ?1 AND container_id = ?2 AND "
                              "ifname = ?3");
  q.Bind(1, network).Bind(2, container_id).Bind(3, ifname);
  auto rows = ReadAttachments(q);
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<AttachmentRow>{};
  return std::optional<AttachmentRow>{rows.value()[0]};
}

Result<int64_t> LeaseStore::InsertLease(const LeaseRow& l) {
  Statement& q = db_->Prepare(
      "INSERT INTO leases(network, owner_kind, owner, owner_uid, ifname, created_at, reservation, "
      "cluster_revision, identity_source) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  q.Bind(1, l.network)
      .Bind(2, std::string(OwnerKindName(l.owner_kind)))
      .Bind(3, l.owner)
      .Bind(4, l.owner_uid);
  q.Bind(5, l.ifname).Bind(6, l.created_at).Bind(7, l.reservation).Bind(8, l.cluster_revision);
  q.Bind(9, l.identity_source);
  Error e = Done(q, "cannot insert lease");
  if (e.code) return e;
  return db_->LastInsertId();
}

Error LeaseStore::InsertAddress(int64_t lease_id, const std::string& network, const AddressRow& a) {
  Statement& q = db_->Prepare(
      "INSERT INTO addresses(lease_id, network, range_set, ip) VALUES(?1, ?2, ?3, ?4)");
  q.Bind(1, lease_id).Bind(2, network).Bind(3, a.range_set).Bind(4, a.ip);
  return Done(q, "cannot insert address " + a.ip);
}

Error LeaseStore::InsertAttachment(const AttachmentRow& a) {
  Statement& q = db_->Prepare(
      "INSERT INTO attachments(network, container_id, ifname, lease_id, netns, node, attached_at, "
      "cluster_token) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  q.Bind(1, a.network).Bind(2, a.container_id).Bind(3, a.ifname).Bind(4, a.lease_id);
  q.Bind(5, a.netns).Bind(6, a.node).Bind(7, a.attached_at).Bind(8, a.cluster_token);
  return Done(q, "cannot insert attachment");
}

Error LeaseStore::DeleteAttachment(const AttachmentRow& a) {
  Statement& q = db_->Prepare(
      "DELETE FROM attachments WHERE network = ?1 AND container_id = ?2 AND ifname = ?3");
  q.Bind(1, a.network).Bind(2, a.container_id).Bind(3, a.ifname);
  return Done(q, "cannot delete attachment");
}

Result<int64_t> LeaseStore::CountAttachments(int64_t lease_id) {
  Statement& q = db_->Prepare("SELECT count(*) FROM attachments WHERE lease_id = ?1");
  q.Bind(1, lease_id);
  if (!q.Step()) return db_->LastError("cannot count attachments");
  return q.Int(0);
}

Error LeaseStore::DeleteLease(int64_t lease_id) {
  Statement& q = db_->Prepare("DELETE FROM leases WHERE id = ?1");
  q.Bind(1, lease_id);
  return Done(q, "cannot delete lease");
}

Error LeaseStore::SetClusterRevision(int64_t lease_id, int64_t revision) {
  Statement& q = db_->Prepare("UPDATE leases SET cluster_revision = ?2 WHERE id = ?1");
  q.Bind(1, lease_id).Bind(2, revision);
  return Done(q, "cannot record the cluster version of lease " + std::to_string(lease_id));
}

Error LeaseStore::SetHandedTo(int64_t lease_id, const std::string& node) {
  Statement& q = db_->Prepare("UPDATE leases SET handed_to = ?2 WHERE id = ?1");
  q.Bind(1, lease_id).Bind(2, node);
  return Done(q, "cannot record the hand-off of lease " + std::to_string(lease_id));
}

Error LeaseStore::Reown(int64_t lease_id, OwnerKind kind, const std::string& owner,
                        const std::string& ifname, const std::string& reservation) {
  Statement& q = db_->Prepare(
      "UPDATE leases SET owner_kind = ?2, owner = ?3, ifname = ?4, reservation = ?5 WHERE id = ?1");
  q.Bind(1, lease_id).Bind(2, std::string(OwnerKindName(kind))).Bind(3, owner);
  q.Bind(4, ifname).Bind(5, reservation);
  return Done(q, "cannot move lease to " + std::string(OwnerKindName(kind)) + " " + owner);
}

Error LeaseStore::SetOwnerUid(int64_t lease_id, const std::string& uid, const std::string& source) {
  Statement& q =
      db_->Prepare("UPDATE leases SET owner_uid = ?2, identity_source = ?3 WHERE id = ?1");
  q.Bind(1, lease_id).Bind(2, uid).Bind(3, source);
  return Done(q, "cannot record the owner's UID");
}

Result<std::vector<LeaseRow>> LeaseStore::LeasesOf(const std::string& network, OwnerKind kind,
                                                   const std::string& owner) {
  Statement& q = db_->Prepare(std::string("SELECT ") + kLeaseColumns +
                              " FROM leases WHERE owner_kind = ?2 AND owner = ?3 AND "
                              "(?1 = '' OR network = ?1) ORDER BY network, ifname");
  q.Bind(1, network).Bind(2, std::string(OwnerKindName(kind))).Bind(3, owner);
  std::vector<LeaseRow> out;
  while (q.Step()) out.push_back(ReadLease(q));
  if (q.failed()) return db_->LastError("cannot read leases of " + owner);
  for (LeaseRow& l : out)
    if (Error e = LoadAddresses(l); e.code) return e;
  return out;
}

Result<std::vector<AttachmentRow>> LeaseStore::AttachmentsOf(int64_t lease_id) {
  Statement& q = db_->Prepare(std::string("SELECT ") + kAttachmentColumns +
                              " FROM attachments WHERE lease_id = ?1");
  q.Bind(1, lease_id);
  return ReadAttachments(q);
}

Error LeaseStore::ClearReservation(const std::string& network, const std::string& reservation) {
  Statement& q =
      db_->Prepare("UPDATE leases SET reservation = '' WHERE network = ?1 AND reservation = ?2");
  q.Bind(1, network).Bind(2, reservation);
  return Done(q, "cannot clear reservation " + reservation);
}

Result<std::vector<EventRow>> LeaseStore::Events(const std::string& network,
                                                 const std::string& owner, const std::string& ip,
                                                 int64_t limit) {
  Statement& q = db_->Prepare(
      "SELECT at, network, kind, owner, ip, container_id, ifname, node FROM events "
      "WHERE (?1 = '' OR network = ?1) AND (?2 = '' OR owner = ?2) AND (?3 = '' OR ip = ?3) "
      "ORDER BY id DESC LIMIT ?4");
  q.Bind(1, network).Bind(2, owner).Bind(3, ip).Bind(4, limit);
  std::vector<EventRow> out;
  while (q.Step()) {
    auto kind = ParseEventKind(q.Text(2));
    if (!kind)
      return MakeError(kInternal, "unknown event kind \"" + q.Text(2) + "\" in the history");
    out.push_back(EventRow{q.Int(0), q.Text(1), *kind, q.Text(3), q.Text(4), q.Text(5), q.Text(6),
                           q.Text(7)});
  }
  if (q.failed()) return db_->LastError("cannot read events");
  return out;
}

const char* OutboxOpName(OutboxOp op) {
  return op == OutboxOp::kDetach ? "detach" : "release";
}

Error LeaseStore::AddOutbox(const OutboxRow& row) {
  Statement& q =
      db_->Prepare("INSERT INTO cluster_outbox(op, network, key, value) VALUES(?1, ?2, ?3, ?4)");
  q.Bind(1, std::string(OutboxOpName(row.op)))
      .Bind(2, row.network)
      .Bind(3, row.key)
      .Bind(4, row.value);
  return Done(q, "cannot queue cluster change");
}

Result<std::vector<OutboxRow>> LeaseStore::Outbox(int64_t limit) {
  Statement& q =
      db_->Prepare("SELECT id, op, network, key, value FROM cluster_outbox ORDER BY id LIMIT ?1");
  q.Bind(1, limit);
  std::vector<OutboxRow> out;
  // Only this daemon writes the table, and only the two names above.
  while (q.Step()) {
    OutboxOp op = q.Text(1) == "detach" ? OutboxOp::kDetach : OutboxOp::kRelease;
    out.push_back(OutboxRow{q.Int(0), op, q.Text(2), q.Text(3), q.Text(4)});
  }
  if (q.failed()) return db_->LastError("cannot read the cluster outbox");
  return out;
}

Error LeaseStore::DeleteOutbox(int64_t id) {
  Statement& q = db_->Prepare("DELETE FROM cluster_outbox WHERE id = ?1");
  q.Bind(1, id);
  return Done(q, "cannot delete from the cluster outbox");
}

Result<std::vector<std::string>> LeaseStore::DuplicateAddresses() {
  Statement& q =
      db_->Prepare("SELECT network, ip FROM addresses GROUP BY network, ip HAVING count(*) > 1");
  std::vector<std::string> out;
  while (q.Step()) out.push_back(q.Text(0) + " " + q.Text(1));
  if (q.failed()) return db_->LastError("cannot check duplicates");
  return out;
}

Error LeaseStore::MarkReleased(const std::string& network, const std::string& ip, int64_t at) {
  Statement& q =
      db_->Prepare("INSERT OR REPLACE INTO released(network, ip, released_at) VALUES(?1, ?2, ?3)");
  q.Bind(1, network).Bind(2, ip).Bind(3, at);
  return Done(q, "cannot record release of " + ip);
}

Error LeaseStore::ClearReleased(const std::string& network, const std::string& ip) {
  Statement& q = db_->Prepare("DELETE FROM released WHERE network = ?1 AND ip = ?2");
  q.Bind(1, network).Bind(2, ip);
  return Done(q, "cannot clear release of " + ip);
}

Error LeaseStore::AppendEvent(const EventRow& e) {
  Statement& q = db_->Prepare(
      "INSERT INTO events(at, network, kind, owner, ip, container_id, ifname, node) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  q.Bind(1, e.at)
      .Bind(2, e.network)
      .Bind(3, std::string(EventKindName(e.kind)))
      .Bind(4, e.owner)
      .Bind(5, e.ip);
  q.Bind(6, e.container_id).Bind(7, e.ifname).Bind(8, e.node);
  return Done(q, "cannot append event");
}

Error LeaseStore::ForEachAddress(
    const std::string& network,
    const std::function<void(const std::string&, const std::string&)>& fn) {
  Statement& q = db_->Prepare("SELECT network, ip FROM addresses WHERE ?1 = '' OR network = ?1");
  q.Bind(1, network);
  while (q.Step()) fn(q.Text(0), q.Text(1));
  return q.failed() ? db_->LastError("cannot read addresses") : Error{};
}

Error LeaseStore::ForEachReleased(
    const std::string& network,
    const std::function<void(const std::string&, const std::string&, int64_t)>& fn) {
  Statement& q =
      db_->Prepare("SELECT network, ip, released_at FROM released WHERE ?1 = '' OR network = ?1");
  q.Bind(1, network);
  while (q.Step()) fn(q.Text(0), q.Text(1), q.Int(2));
  return q.failed() ? db_->LastError("cannot read released addresses") : Error{};
}

Result<std::vector<LeaseRow>> LeaseStore::ListLeases(const std::string& network) {
  Statement& q = db_->Prepare(std::string("SELECT ") + kLeaseColumns +
                              " FROM leases WHERE ?1 = '' OR network = ?1 ORDER BY network, id");
  q.Bind(1, network);
  std::vector<LeaseRow> out;
  while (q.Step()) out.push_back(ReadLease(q));
  if (q.failed()) return db_->LastError("cannot list leases");
  Statement& a = db_->Prepare(
      "SELECT lease_id, range_set, ip FROM addresses WHERE ?1 = '' OR network = ?1 "
      "ORDER BY lease_id, range_set");
  a.Bind(1, network);
  std::map<int64_t, LeaseRow*> by_id;
  for (auto& l : out) by_id[l.id] = &l;
  while (a.Step()) {
    auto it = by_id.find(a.Int(0));
    if (it != by_id.end())
      it->second->addresses.push_back(AddressRow{static_cast<int>(a.Int(1)), a.Text(2)});
  }
  if (a.failed()) return db_->LastError("cannot list addresses");
  return out;
}

Result<std::vector<AttachmentRow>> LeaseStore::ListAttachments(const std::string& network) {
  Statement& q =
      db_->Prepare(std::string("SELECT ") + kAttachmentColumns +
                   " FROM attachments WHERE ?1 = '' OR network = ?1 ORDER BY attached_at");
  q.Bind(1, network);
  return ReadAttachments(q);
}

Result<int64_t> LeaseStore::Count(const std::string& table) {
  Statement& q = db_->Prepare("SELECT count(*) FROM " + table);
  if (!q.Step()) return db_->LastError("cannot count " + table);
  return q.Int(0);
}

}  // namespace vmip
