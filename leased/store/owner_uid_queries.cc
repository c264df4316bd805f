// Kubernetes mode: what the deletion releaser reads about its leases once a second,
// three columns instead of whole leases with their addresses and attachments (that
// took about 1 s at 100,000 leases, twice a second, with the service lock held).
#include "lease_store.h"

namespace vmip {

Result<std::vector<OwnerUidRow>> LeaseStore::OwnerUids() {
  // One pass over the table in rowid order: at 100,000 VM leases about 20 ms, where
  // DISTINCT or the owner index's order cost 40-230 ms. The caller removes repeats.
  Statement& q = db_->Prepare(
      "SELECT owner_kind, owner, owner_uid FROM leases NOT INDEXED "
      "WHERE owner_kind IN ('vm', 'sts') AND owner_uid != ''");
  std::vector<OwnerUidRow> out;
  while (q.Step())
    out.push_back(
        OwnerUidRow{ParseOwnerKind(q.Text(0)).value_or(OwnerKind::kVm), q.Text(1), q.Text(2)});
  if (q.failed()) return db_->LastError("cannot read the owners' UIDs");
  return out;
}

Result<std::vector<std::string>> LeaseStore::VmsWithoutUid(const std::string& source) {
  Statement& q = db_->Prepare(
      "SELECT DISTINCT owner FROM leases WHERE owner_kind = 'vm' AND owner_uid = '' "
      "AND identity_source = ?1 ORDER BY 1");
  q.Bind(1, source);
  std::vector<std::string> out;
  while (q.Step()) out.push_back(q.Text(0));
  if (q.failed()) return db_->LastError("cannot read the VM leases without a UID");
  return out;
}

}  // namespace vmip
