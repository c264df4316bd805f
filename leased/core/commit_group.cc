#include "commit_group.h"

#include <algorithm>

#include "decision_log.h"

namespace vmip {

Error CommitGroup::Run(const std::function<void()>& part, bool grouped) {
  if (!grouped) {
    std::lock_guard<std::mutex> lock(*mu_);
    part();
    return Error{};
  }
  Member me{&part, Error{}, false, false};
  std::unique_lock<std::mutex> q(queue_mu_);
  queue_.push_back(&me);
  if (!leading_) leading_ = me.lead = true;
  cv_.wait(q, [&] { return me.done || me.lead; });
  if (me.done) return me.result;
  // This thread leads. It waits for the service lock first, so requests that queue
  // meanwhile join too; its own request is at the front, so the group holds it.
  q.unlock();
  std::unique_lock<std::mutex> lock(*mu_);
  q.lock();
  size_t n = std::min(queue_.size(), kMaxGroup);
  std::vector<Member*> group(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  q.unlock();
  RunGroup(group);
  lock.unlock();
  q.lock();
  groups_++;
  members_ += group.size();
  for (Member* m : group) m->done = true;
  // Whoever queued during this group leads the next one.
  if (queue_.empty())
    leading_ = false;
  else
    queue_.front()->lead = true;
  cv_.notify_all();
  return me.result;
}

void CommitGroup::RunGroup(const std::vector<Member*>& group) {
  size_t first = 0;  // first member of the transaction now open
  Error e = store_->Begin();
  if (e.code) return FailMembers(group, 0, group.size(), e);
  for (size_t i = 0; i < group.size(); i++) {
    (*group[i]->part)();
    if (store_->InTransaction()) continue;
    // An error (I/O, disk full) made SQLite roll back the whole transaction: the
    // parts run in it so far are gone. The rest start a new one.
    FailMembers(group, first, i + 1,
                MakeError(kTryAgainLater, "database error: the transaction was rolled back"));
    first = i + 1;
    if (first == group.size()) return;
    if (e = store_->Begin(); e.code) return FailMembers(group, first, group.size(), e);
  }
  e = store_->Commit();
  if (e.code) {
    store_->Rollback();
    FailMembers(group, first, group.size(), e);
  }
  store_->Idle();
  if (group.size() > 1)
    Log(LogLevel::kDebug, "op=commit" + Field("members", std::to_string(group.size())));
}

void CommitGroup::FailMembers(const std::vector<Member*>& group, size_t from, size_t to,
                              const Error& err) {
  Log(LogLevel::kError,
      "op=commit" + Field("members", std::to_string(to - from)) + " msg=\"" + err.msg + "\"");
  for (size_t i = from; i < to; i++) group[i]->result = err;
  store_->Idle();
  after_failed_();
}

size_t CommitGroup::queued() {
  std::lock_guard<std::mutex> q(queue_mu_);
  return queue_.size();
}

uint64_t CommitGroup::groups() {
  std::lock_guard<std::mutex> q(queue_mu_);
  return groups_;
}

uint64_t CommitGroup::members() {
  std::lock_guard<std::mutex> q(queue_mu_);
  return members_;
}

}  // namespace vmip
