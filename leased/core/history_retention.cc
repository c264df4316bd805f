// History retention (issue 16): `--history-retention` (default 90 days) bounds the
// events table. Old events go in small batches, each its own transaction with the
// lease lock released in between, so an ADD never waits behind a long delete.
#include "decision_log.h"
#include "lease_service.h"
#include "store_transaction.h"

namespace vmip {
namespace {

constexpr int64_t kEventsPerBatch = 500;
// Per run (once a second): bounds the background loop's turn, so spool replay and
// the outbox are not starved by a first prune of a large table.
constexpr int kBatchesPerRun = 20;

}  // namespace

int64_t LeaseService::PruneHistory() {
  if (history_retention_ <= 0) return 0;
  int64_t total = 0;
  for (int batch = 0; batch < kBatchesPerRun; batch++) {
    std::lock_guard<std::mutex> lock(mu_);
    Transaction txn(store_);
    Error e = txn.Begin();
    auto deleted = e.code
                       ? Result<int64_t>(e)
                       : store_->DeleteEventsBefore(clock_() - history_retention_, kEventsPerBatch);
    if (deleted.ok()) e = txn.Commit();
    if (!deleted.ok() || e.code) {
      Log(LogLevel::kError,
          "op=prune-history msg=\"" + (deleted.ok() ? e.msg : deleted.error().msg) + "\"");
      break;
    }
    total += deleted.value();
    if (deleted.value() < kEventsPerBatch) break;
  }
  if (total > 0)
    Log(LogLevel::kInfo, "op=prune-history" + Field("deleted", std::to_string(total)) +
                             Field("older_than", std::to_string(history_retention_) + "s"));
  return total;
}

}  // namespace vmip
