// The lease table in SQLite: every query the daemon runs, and nothing else.
// Callers group calls into transactions (Begin/Commit); Commit returning success
// means the change is durable (WAL, synchronous=FULL). Lookups answer a row,
// nothing (std::nullopt: not found) or an error (the read failed): a failed read is
// never "nothing there".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "event_kind.h"
#include "owner_key.h"
#include "sqlite_db.h"

namespace vmip {

struct AddressRow {
  int range_set = 0;
  std::string ip;
};

struct LeaseRow {
  int64_t id = 0;
  std::string network;
  OwnerKind owner_kind = OwnerKind::kPod;
  std::string owner, owner_uid, ifname;
  int64_t created_at = 0;
  std::string reservation;            // the reservation a VM lease was claimed from
  std::vector<AddressRow> addresses;  // ordered by range set
  int64_t cluster_revision = 0;       // version of its cluster binding (cluster mode)
  std::string handed_to;              // node that adopted it while attached here
  std::string identity_source;        // which rule named the owner (owner.h kSource*)
  int64_t detached_at = 0;            // VM: when its last attachment went; 0 attached

  OwnerKey Key() const { return OwnerKey{owner_kind, owner, ifname}; }
  // "vm default/vm1", for messages.
  std::string DescribeOwner() const { return std::string(OwnerKindName(owner_kind)) + " " + owner; }
};

// LeaseRow::detached_at of a binding detached here but attached on another node (cluster
// mode): its TTL starts only when that attachment goes.
inline constexpr int64_t kAttachedElsewhere = -1;

struct AttachmentRow {
  std::string network, container_id, ifname, netns, node;
  int64_t lease_id = 0;
  int64_t attached_at = 0;
  std::string cluster_token;  // tells this attachment's cluster record from older ones
};

struct EventRow {
  int64_t at = 0;
  std::string network;
  EventKind kind = EventKind::kBind;
  std::string owner;  // the owner tag (OwnerKey::Tag)
  std::string ip, container_id, ifname, node;
};

// What a queued cluster change does; stored as its name ("detach", "release").
enum class OutboxOp { kDetach, kRelease };
const char* OutboxOpName(OutboxOp op);

struct OutboxRow {
  int64_t id = 0;
  OutboxOp op = OutboxOp::kRelease;
  std::string network, key, value;
};

// How many leases of a network are in one state: attached (a container uses it),
// detached (a VM's, kept while no pod runs it) or reserved (unclaimed, vmipctl reserve).
struct LeaseCount {
  std::string network, state;
  int64_t leases = 0;
};

// A VM or StatefulSet-pod owner and the Kubernetes UID its leases stored.
struct OwnerUidRow {
  OwnerKind kind = OwnerKind::kVm;
  std::string owner, uid;
};

class LeaseStore {
 public:
  static Result<std::unique_ptr<LeaseStore>> Open(const std::string& path);
  // Read-only, for views (LeaseService::SetViewReader); after Open migrated the file.
  static Result<std::unique_ptr<LeaseStore>> OpenReader(const std::string& path);

  int schema_version() const { return schema_version_; }

  // Call after each request: no statement keeps a read snapshot open.
  void Idle() { db_->ResetAll(); }

  Error Begin();
  Error BeginRead();  // deferred: takes no write lock (ReadSession::Snapshot)
  Error Commit();
  void Rollback();
  // A transaction is open on the session (a nested one then uses a savepoint).
  bool InTransaction() { return !sqlite3_get_autocommit(db_->raw()); }
  // A part of the open transaction that can be undone alone (store_transaction.h).
  Error Savepoint();
  Error ReleaseSavepoint();
  void RollbackToSavepoint();

  Error SavePool(const std::string& network, const std::string& config, int64_t now);
  // (network, serialized PoolConfig) for every network ever configured.
  Result<std::vector<std::pair<std::string, std::string>>> LoadPools();

  Result<std::optional<LeaseRow>> FindLease(const std::string& network, OwnerKind kind,
                                            const std::string& owner, const std::string& ifname);
  Result<std::optional<LeaseRow>> FindLeaseById(int64_t id);
  Result<std::optional<LeaseRow>> FindHolder(const std::string& network, const std::string& ip);
  Result<std::optional<AttachmentRow>> FindAttachment(const std::string& network,
                                                      const std::string& container_id,
                                                      const std::string& ifname);

  Result<int64_t> InsertLease(const LeaseRow& lease);
  Error InsertAddress(int64_t lease_id, const std::string& network, const AddressRow& a);
  Error InsertAttachment(const AttachmentRow& a);
  Error DeleteAttachment(const AttachmentRow& a);
  Result<int64_t> CountAttachments(int64_t lease_id);
  Error DeleteLease(int64_t lease_id);
  Error SetClusterRevision(int64_t lease_id, int64_t revision);
  // Marks a lease adopted by another node (handed_to "" clears it).
  Error SetHandedTo(int64_t lease_id, const std::string& node);
  // Moves a lease to another owner (claiming or returning a reservation).
  Error Reown(int64_t lease_id, OwnerKind kind, const std::string& owner, const std::string& ifname,
              const std::string& reservation);
  // Records the owner's Kubernetes UID and where its identity came from.
  Error SetOwnerUid(int64_t lease_id, const std::string& uid, const std::string& source);
  // Kubernetes mode, read once a second (owner_uid_queries.cc): the owner and UID of
  // each VM and StatefulSet-pod lease with a stored UID, unsorted, with repeats; the
  // VMs with a lease named by rule `source` and no UID yet.
  Result<std::vector<OwnerUidRow>> OwnerUids();
  Result<std::vector<std::string>> VmsWithoutUid(const std::string& source);
  // Every lease of an owner; network "" means every network.
  Result<std::vector<LeaseRow>> LeasesOf(const std::string& network, OwnerKind kind,
                                         const std::string& owner);
  Result<std::vector<AttachmentRow>> AttachmentsOf(int64_t lease_id);
  Error ClearReservation(const std::string& network, const std::string& reservation);
  // Newest first. Empty filters match everything.
  Result<std::vector<EventRow>> Events(const std::string& network, const std::string& owner,
                                       const std::string& ip, int64_t limit);
  Error AddOutbox(const OutboxRow& row);
  Result<std::vector<OutboxRow>> Outbox(int64_t limit);
  Error DeleteOutbox(int64_t id);

  // Pairs (network, ip) bound more than once: must always be empty (UNIQUE).
  Result<std::vector<std::string>> DuplicateAddresses();
  Error MarkReleased(const std::string& network, const std::string& ip, int64_t at);
  Error ClearReleased(const std::string& network, const std::string& ip);
  Error AppendEvent(const EventRow& e);

  // Lease policies (lease_policy_store.cc).
  Error SetDetachedAt(int64_t lease_id, int64_t at);  // 0: attached again
  // VM leases of `network` detached at or before `cutoff`, oldest first, and those
  // marked kAttachedElsewhere.
  Result<std::vector<LeaseRow>> DetachedSince(const std::string& network, int64_t cutoff,
                                              int64_t limit);
  // Points range set `range_set` of a lease at another address (a detached VM moves).
  Error MoveAddress(int64_t lease_id, int range_set, const std::string& ip);
  // Deletes at most `limit` events older than `cutoff`; returns how many went.
  Result<int64_t> DeleteEventsBefore(int64_t cutoff, int64_t limit);
  // The time of the oldest event kept; 0 when there is none.
  Result<int64_t> OldestEventAt();

  // Whole-table reads: start-up and admin views.
  // network "" means every network.
  Error ForEachAddress(
      const std::string& network,
      const std::function<void(const std::string& network, const std::string& ip)>& fn);
  Error ForEachReleased(
      const std::string& network,
      const std::function<void(const std::string& network, const std::string& ip, int64_t at)>& fn);
  Result<std::vector<LeaseRow>> ListLeases(const std::string& network);
  Result<std::vector<AttachmentRow>> ListAttachments(const std::string& network);
  Result<int64_t> Count(const std::string& table);
  // Leases per network and state (lease_counts.cc); states with none are left out.
  Result<std::vector<LeaseCount>> CountLeasesByState();

 private:
  explicit LeaseStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  Error QuickCheck(const std::string& path);
  LeaseRow ReadLease(Statement& q);
  Result<std::optional<LeaseRow>> ReadOneLease(Statement& q, const std::string& what);
  Result<std::vector<AttachmentRow>> ReadAttachments(Statement& q);
  Error LoadAddresses(LeaseRow& lease);
  Error Done(Statement& q, const std::string& what);

  std::unique_ptr<SqliteDb> db_;
  int schema_version_ = 0;
};

}  // namespace vmip
