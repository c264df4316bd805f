// Scoped use of the one SQLite session a LeaseStore holds. A Transaction rolls back
// unless it was committed and always leaves the session idle (no statement keeps a
// read snapshot open); a ReadSession does only the latter, for reads outside a
// transaction. Callers never pair Begin/Commit/Rollback/Idle by hand.
#pragma once

#include "error.h"
#include "lease_store.h"

namespace vmip {

class ReadSession {
 public:
  explicit ReadSession(LeaseStore* store) : store_(store) {}
  ~ReadSession() { store_->Idle(); }
  ReadSession(const ReadSession&) = delete;
  ReadSession& operator=(const ReadSession&) = delete;

 private:
  LeaseStore* store_;
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
    Error e = store_->Begin();
    open_ = !e.code;
    return e;
  }

  // Success means the change is durable. A failed commit is rolled back here, so
  // the caller only has to undo what it changed in memory.
  Error Commit() {
    Error e = open_ ? store_->Commit() : MakeError(kInternal, "commit without a transaction");
    if (e.code) store_->Rollback();
    open_ = false;
    store_->Idle();
    return e;
  }

  // Undoes an uncommitted transaction now: for callers that read the database
  // again (or rebuild memory from it) before this object goes out of scope.
  void Rollback() {
    if (open_) store_->Rollback();
    open_ = false;
    store_->Idle();
  }

 private:
  LeaseStore* store_;
  bool open_ = false;
};

}  // namespace vmip
