// Detached bindings that expire (issue 16). Without a Kubernetes watch nobody tells
// the daemon that a VM was deleted; `--detached-ttl` (per network `ipam.detachedTTL`,
// which wins) releases a VM binding that has had no attachment for that long, with
// an `expire` event. Attached bindings and reservations never expire.
//
// Each expiry is a compare-and-delete in its own short transaction: the row must
// still be the same binding (owner, interface, addresses), still detached since the
// same moment, with no attachment; an ADD that re-attached it in between wins. In
// cluster mode the coordinator decides whether this node may expire it (its node of
// record, no attachment anywhere) and releases it through the same conditional etcd
// release as `vmipctl release` (cluster/coordinator_expiry.cc).
#include "decision_log.h"
#include "lease_service.h"
#include "store_transaction.h"

namespace vmip {
namespace {

constexpr int64_t kExpiriesPerRun = 64;  // per network and run; the rest next second

bool SameBinding(const LeaseRow& a, const LeaseRow& b) {
  if (a.network != b.network || a.owner_kind != b.owner_kind || a.owner != b.owner ||
      a.ifname != b.ifname || a.addresses.size() != b.addresses.size())
    return false;
  for (size_t i = 0; i < a.addresses.size(); i++)
    if (a.addresses[i].ip != b.addresses[i].ip) return false;
  return true;
}

std::string IpsText(const LeaseRow& lease) {
  std::string out;
  for (const AddressRow& a : lease.addresses) out += (out.empty() ? "" : ",") + a.ip;
  return out;
}

}  // namespace

int64_t LeaseService::DetachedTtlOf(const Network& net) const {
  const v1::PoolConfig& config = net.pool->config();
  return config.has_detached_ttl_seconds() ? config.detached_ttl_seconds() : detached_ttl_;
}

void LeaseService::ExpireDetached() {
  std::vector<std::pair<LeaseRow, int64_t>> due;  // with the TTL that made it due
  {
    std::lock_guard<std::mutex> lock(mu_);
    ReadSession session(store_);
    int64_t now = clock_();
    for (const auto& [name, net] : networks_) {
      int64_t ttl = DetachedTtlOf(*net);
      if (ttl <= 0) continue;
      auto rows = store_->DetachedSince(name, now - ttl, kExpiriesPerRun);
      if (!rows.ok()) {
        Log(LogLevel::kError,
            "op=expire" + Field("network", name) + " msg=\"" + rows.error().msg + "\"");
        continue;
      }
      for (LeaseRow& row : rows.value()) due.push_back({std::move(row), ttl});
    }
  }
  for (const auto& [lease, ttl] : due) Expire(lease, ttl);
}

// With mu_ held: the lease is still exactly what the expiry read (same binding,
// detached since the same moment, no attachment) and, with ttl > 0, due.
Error LeaseService::StillDetached(const LeaseRow& seen, int64_t ttl) {
  auto now = store_->FindLeaseById(seen.id);
  if (!now.ok()) return now.error();
  const std::optional<LeaseRow>& lease = now.value();
  if (!lease || !SameBinding(*lease, seen) || !lease->handed_to.empty() ||
      lease->detached_at != seen.detached_at)
    return MakeError(kLeaseMismatch, "changed since it was read");
  if (ttl > 0 && (lease->detached_at <= 0 || lease->detached_at > clock_() - ttl))
    return MakeError(kLeaseMismatch, "not due");
  auto left = store_->CountAttachments(seen.id);
  if (!left.ok()) return left.error();
  if (left.value() > 0) return MakeError(kLeaseMismatch, "attached again");
  return Error{};
}

// The clock of a binding another node runs stops (kAttachedElsewhere) while that
// attachment lives, and starts (now) when this node sees it gone.
void LeaseService::RestartDetachedClock(const LeaseRow& seen, int64_t at) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(store_);
  Error e = txn.Begin();
  if (!e.code) e = StillDetached(seen, /*ttl=*/0);
  if (!e.code) e = store_->SetDetachedAt(seen.id, at);
  if (!e.code) e = txn.Commit();
  Log(e.code == kLeaseMismatch ? LogLevel::kDebug
      : e.code                 ? LogLevel::kError
                               : LogLevel::kInfo,
      "op=detached-clock" + Field("network", seen.network) + Field("owner", seen.Key().Encode()) +
          (at == kAttachedElsewhere ? " state=attached-elsewhere" : " state=detached") +
          (e.code ? " msg=\"" + e.msg + "\"" : ""));
}

void LeaseService::Expire(const LeaseRow& seen, int64_t ttl) {
  std::string what =
      "op=expire" + Field("network", seen.network) + Field("owner", seen.Key().Encode());
  // Quorum reads (cluster mode) outside the lock; the release below re-checks them.
  auto clearance = coordinator_->ClearExpiry(seen);
  if (!clearance.ok()) return;  // the cluster is unreachable: next run
  using Verdict = ExpiryClearance::Verdict;
  if (clearance.value().verdict == Verdict::kNotHere) {
    Log(LogLevel::kDebug, what + " skipped=\"" + clearance.value().detail + "\"");
    return;
  }
  if (clearance.value().verdict == Verdict::kAttachedElsewhere) {
    Log(LogLevel::kDebug, what + " skipped=\"attached on node " + clearance.value().detail + "\"");
    if (seen.detached_at != kAttachedElsewhere) RestartDetachedClock(seen, kAttachedElsewhere);
    return;
  }
  // Stopped elsewhere (or the daemon runs standalone now): the TTL counts from here.
  if (seen.detached_at == kAttachedElsewhere) return RestartDetachedClock(seen, clock_());

  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(store_);  // its reads below come before the transaction begins
  Error e = StillDetached(seen, ttl);
  if (!e.code) e = ReleaseClusterBinding(seen, clearance.value());
  std::vector<Released> released;
  if (!e.code) e = txn.Begin();
  // The cluster release, if any, happened above: nothing to queue.
  if (!e.code)
    e = FreeLease(seen, "", &released, /*queue_cluster_release=*/false, EventKind::kExpire);
  if (!e.code) e = txn.Commit();
  if (e.code) {
    // kLeaseMismatch: re-attached or changed meanwhile; it is no longer due.
    Log(e.code == kLeaseMismatch ? LogLevel::kDebug : LogLevel::kError,
        what + " skipped=\"" + e.msg + "\"");
    return;
  }
  ApplyReleased(released, ReleaseReason::kExpired);
  Log(LogLevel::kInfo, what + Field("released", IpsText(seen)) +
                           Field("detached_for", std::to_string(clock_() - seen.detached_at)));
}

}  // namespace vmip
