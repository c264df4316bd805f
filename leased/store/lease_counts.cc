// Lease counts by state, for the pool gauges the metrics endpoint shows: one
// grouped query, so a scrape holds the database for as short as it can.
#include "lease_store.h"

namespace vmip {

Result<std::vector<LeaseCount>> LeaseStore::CountLeasesByState() {
  Statement& q = db_->Prepare(
      "SELECT network, CASE WHEN owner_kind = 'reservation' THEN 'reserved' "
      "WHEN EXISTS (SELECT 1 FROM attachments a WHERE a.lease_id = l.id) THEN 'attached' "
      "ELSE 'detached' END AS state, count(*) FROM leases l GROUP BY 1, 2 ORDER BY 1, 2");
  q.Reset();
  std::vector<LeaseCount> out;
  while (q.Step()) out.push_back(LeaseCount{q.Text(0), q.Text(1), q.Int(2)});
  if (q.failed()) return db_->LastError("cannot count leases by state");
  return out;
}

}  // namespace vmip
