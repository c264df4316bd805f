// Lease counts by state for the metrics endpoint's pool gauges. A scrape, never an
// ADD, calls it: one grouped read under the lock, nothing else.
#include "lease_service.h"
#include "store_transaction.h"

namespace vmip {

Result<std::vector<LeaseCount>> LeaseService::CountLeasesByState() {
  std::lock_guard<std::mutex> lock(mu_);
  ReadSession session(store_);
  return store_->CountLeasesByState();
}

}  // namespace vmip
