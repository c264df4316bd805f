// Group commit: ADDs and DELs that arrive while the database is busy (most often in
// the previous group's fsync) run one after another in one transaction and share
// its one commit, so one fsync pays for many requests. Nothing is weaker than a
// commit per request: each request is answered only after the commit that holds
// its change, a request that fails rolls back only its own part (its Transaction
// is a savepoint, store_transaction.h), and when the commit itself fails every
// member gets that error and the in-memory free sets are rebuilt from the table.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "error.h"
#include "lease_store.h"

namespace vmip {

class CommitGroup {
 public:
  // mu: the lock every part runs under (the service's). after_failed_commit runs
  // with mu held when a group's transaction was lost: memory the parts changed
  // must be made to match the database again.
  CommitGroup(std::mutex* mu, LeaseStore* store, std::function<void()> after_failed_commit)
      : mu_(mu), store_(store), after_failed_(std::move(after_failed_commit)) {}

  // Runs `part` with mu held inside the group's transaction and returns once that
  // transaction committed: no error if it did, else why not (the part's changes
  // are gone then). grouped=false runs the part alone under mu with no enclosing
  // transaction, so it commits for itself (cluster mode, where a part also talks
  // to etcd before its local commit).
  Error Run(const std::function<void()>& part, bool grouped = true);

  // Holds the service lock: requests queue behind it and form one group when it
  // is released (tests use it to make a group of a known size).
  std::unique_lock<std::mutex> Hold() { return std::unique_lock<std::mutex>(*mu_); }
  // Requests waiting for their group to start.
  size_t queued();
  // Groups committed (or failed) and the requests they carried, since start.
  uint64_t groups();
  uint64_t members();

 private:
  struct Member {
    const std::function<void()>* part;
    Error result;
    bool done = false;
    bool lead = false;  // this member's thread runs the next group
  };
  static constexpr size_t kMaxGroup = 64;  // bounds the wait of a group's first member

  // With mu held: one transaction for the group's parts, then its commit.
  void RunGroup(const std::vector<Member*>& group);
  // Gives `err` to members [from, to) and rebuilds memory.
  void FailMembers(const std::vector<Member*>& group, size_t from, size_t to, const Error& err);

  std::mutex* mu_;
  LeaseStore* store_;
  std::function<void()> after_failed_;
  // queue_mu_ guards the queue, the lead flag, each Member's done/lead and the
  // counters; it is taken after mu_ or alone, never held while waiting for mu_. A Member's result
  // is written by the thread running its group, before that thread sets done.
  std::mutex queue_mu_;
  std::condition_variable cv_;
  std::deque<Member*> queue_;
  bool leading_ = false;  // some thread is forming or running a group
  uint64_t groups_ = 0, members_ = 0;
};

}  // namespace vmip
