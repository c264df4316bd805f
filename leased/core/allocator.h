// In-memory free sets of one pool, rebuilt from the lease table at start, so that
// picking an address is O(log n) and never scans the database.
//
// Order of preference: addresses never handed out (in range order), then released
// addresses, oldest release first, so a just-freed address is not given to a new
// owner while ARP caches still point at the old one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "ip_address.h"
#include "pool.h"

namespace vmip {

class Allocator {
 public:
  explicit Allocator(const Pool& pool);

  // Loading state from the database.
  void MarkTaken(const IpAddress& ip);
  void MarkReleased(const IpAddress& ip, int64_t released_at);

  // The address the next allocation in `set` should get; nullopt when exhausted.
  // Does not take it: the caller takes it only after its transaction commits.
  // Released addresses younger than the cooldown (at `now`) are not handed out.
  std::optional<IpAddress> Next(int set, int64_t now = 0);
  // Oldest-first reuse already keeps a just-freed address back while any other is
  // free; a cooldown also refuses it when nothing else is (ADD fails with 100).
  void SetCooldown(int64_t seconds) { cooldown_ = seconds; }
  bool IsTaken(const IpAddress& ip) const {
    return taken_.count(ip) || remote_.count(ip) || reserved_.count(ip);
  }
  // Cluster mode: an address an ADD in flight picked or adopts (its etcd step runs
  // outside the service lock); skipped like a taken one until Unreserve. Counted:
  // each Reserve needs its own Unreserve; the last makes an unused address fresh again.
  void Reserve(const IpAddress& ip) { reserved_.insert(ip); }
  void Unreserve(const IpAddress& ip);

  // Cluster mode: an address another node bound. Skipped like a taken one, but
  // not part of this node's table.
  void MarkRemote(const IpAddress& ip);
  // Replaces the addresses other nodes hold with a fresh list from the cluster; the
  // ones they gave up become reusable, queued as released at `now` (reused last),
  // and are returned.
  std::vector<IpAddress> ReplaceRemote(const std::set<IpAddress>& held, int64_t now);
  // Another node freed an address it held: reusable here, queued as released at now.
  void ForgetRemote(const IpAddress& ip, int64_t now);
  // This node's address is held by another node from now on (a hand-off).
  void HandOver(const IpAddress& ip);

  void Take(const IpAddress& ip);
  void Release(const IpAddress& ip, int64_t released_at);

  uint64_t Used(int set) const;
  // Every bound address, including ones outside the current ranges.
  uint64_t TakenCount() const { return taken_.size(); }
  const std::set<IpAddress>& taken() const { return taken_; }
  const std::map<IpAddress, int64_t>& released() const { return released_at_; }

 private:
  struct Cursor {
    size_t range = 0;
    IpAddress next;
  };
  using ReleaseQueue = std::set<std::pair<int64_t, IpAddress>>;  // oldest first

  std::optional<IpAddress> NextFresh(int set);
  void MoveToNextRange(int set);
  bool Skippable(const IpAddress& ip) const;

  const Pool* pool_;
  std::set<IpAddress> taken_;
  std::set<IpAddress> remote_;
  std::multiset<IpAddress> reserved_;
  std::map<IpAddress, int64_t> released_at_;
  std::vector<ReleaseQueue> released_;  // one per range set
  std::vector<Cursor> cursors_;         // one per range set
  int64_t cooldown_ = 0;
};

}  // namespace vmip
