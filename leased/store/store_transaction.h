// Scoped use of the one SQLite session a LeaseStore holds. A Transaction rolls back
// unless it was committed and always leaves the session idle (no statement keeps a
// read snapshot open); a ReadSession does only the latter, for reads outside a
// transaction. Callers never pair Begin/Commit/Rollback/Idle by hand.
//
// A Transaction begun while another is open (a group commit's, commit_group.h) is
// nested: it is a savepoint, its Commit folds it into the enclosing transaction and
// its Rollback undoes only its own part. The enclosing transaction's commit makes
// it durable, and only then is its request answered.
#pragma once

#include "error.h"
#include "lease_store.h"

namespace vmip {

class ReadSession {
 public:
  explicit ReadSession(LeaseStore* store) : store_(store) {}
  ~ReadSession() {
    store_->Idle();
    if (snapshot_) store_->Rollback();
  }
  ReadSession(const ReadSession&) = delete;
  ReadSession& operator=(const ReadSession&) = delete;

  // The reads that follow see one commit, for a view on the read-only connection
  // while the writer commits: a deferred read transaction, ended with the session.
  Error Snapshot() {
    snapshot_ = true;
    return store_->BeginRead();
  }

 private:
  LeaseStore* store_;
  bool snapshot_ = false;
};

class Transaction {
 public:
  explicit Transaction(LeaseStore* store) : store_(store) {}
  ~Transaction() { Rollback(); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Starts from an idle session: reads made before it keep no snapshot open.
  Error Begin() {
    store_->Idle();
    nested_ = store_->InTransaction();
    Error e = nested_ ? store_->Savepoint() : store_->Begin();
    open_ = !e.code;
    return e;
  }

  // Success means the change is durable, or for a nested transaction that it is
  // part of the enclosing one (durable when that commits). A failed commit is rolled
  // back here, so the caller only has to undo what it changed in memory.
  Error Commit() {
    if (!open_) return MakeError(kInternal, "commit without a transaction");
    Error e = nested_ ? store_->ReleaseSavepoint() : store_->Commit();
    if (e.code) Rollback();
    open_ = false;
    store_->Idle();
    return e;
  }

  // Undoes an uncommitted transaction now: for callers that read the database
  // again (or rebuild memory from it) before this object goes out of scope.
  void Rollback() {
    if (open_) nested_ ? store_->RollbackToSavepoint() : store_->Rollback();
    open_ = false;
    store_->Idle();
  }

 private:
  LeaseStore* store_;
  bool open_ = false;
  bool nested_ = false;
};

}  // namespace vmip
