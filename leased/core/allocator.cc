#include "allocator.h"

namespace vmip {

Allocator::Allocator(const Pool& pool) : pool_(&pool), released_(pool.sets().size()) {
  for (const auto& set : pool.sets()) cursors_.push_back(Cursor{0, set.ranges.front().start});
}

void Allocator::MarkTaken(const IpAddress& ip) {
  taken_.insert(ip);
}

void Allocator::MarkReleased(const IpAddress& ip, int64_t released_at) {
  int set = pool_->SetContaining(ip);
  if (set < 0 || taken_.count(ip) || released_at_.count(ip)) return;
  released_at_[ip] = released_at;
  released_[set].insert({released_at, ip});
}

bool Allocator::Skippable(const IpAddress& ip) const {
  return IsTaken(ip) || released_at_.count(ip) || pool_->IsReserved(ip);
}

void Allocator::MarkRemote(const IpAddress& ip) {
  if (!taken_.count(ip)) remote_.insert(ip);
}

std::vector<IpAddress> Allocator::ReplaceRemote(const std::set<IpAddress>& held, int64_t now) {
  std::set<IpAddress> old;
  old.swap(remote_);
  for (const auto& ip : held)
    if (!taken_.count(ip)) remote_.insert(ip);
  std::vector<IpAddress> freed;
  for (const auto& ip : old)
    if (!remote_.count(ip)) {
      MarkReleased(ip, now);
      freed.push_back(ip);
    }
  return freed;
}

void Allocator::ForgetRemote(const IpAddress& ip, int64_t now) {
  if (remote_.erase(ip)) MarkReleased(ip, now);
}

void Allocator::HandOver(const IpAddress& ip) {
  taken_.erase(ip);
  remote_.insert(ip);
}

void Allocator::MoveToNextRange(int set) {
  Cursor& c = cursors_[set];
  const auto& ranges = pool_->sets()[set].ranges;
  if (++c.range < ranges.size()) c.next = ranges[c.range].start;
}

// Walks the cursor forward past taken, released and reserved addresses. The cursor
// only moves forward: every address behind it is taken or in a release queue.
std::optional<IpAddress> Allocator::NextFresh(int set) {
  Cursor& c = cursors_[set];
  const auto& ranges = pool_->sets()[set].ranges;
  while (c.range < ranges.size()) {
    const AddressRange& r = ranges[c.range];
    IpAddress skip_through = c.next;
    if (const Cidr* ex = pool_->ExclusionCovering(c.next)) {
      skip_through = ex->Last();
    } else if (!Skippable(c.next)) {
      return c.next;
    }
    if (r.end.value <= skip_through.value) {
      MoveToNextRange(set);
    } else {
      c.next = skip_through.Plus(1);
    }
  }
  return std::nullopt;
}

std::optional<IpAddress> Allocator::Next(int set, int64_t now) {
  if (auto fresh = NextFresh(set)) return fresh;
  for (const auto& [released_at, ip] : released_[set]) {
    if (cooldown_ > 0 && released_at + cooldown_ > now) break;  // the rest are younger
    if (!pool_->IsReserved(ip) && !remote_.count(ip) && !reserved_.count(ip)) return ip;
  }
  return std::nullopt;
}

// The cursor may have walked past the address while it was held; a never-used
// address goes back to "fresh" (not to the release queue, which mirrors the table),
// so the cursor returns to it.
void Allocator::Unreserve(const IpAddress& ip) {
  auto it = reserved_.find(ip);
  if (it == reserved_.end()) return;
  reserved_.erase(it);
  int set = pool_->SetContaining(ip);
  if (set < 0 || Skippable(ip)) return;
  Cursor& c = cursors_[set];
  const auto& ranges = pool_->sets()[set].ranges;
  for (size_t r = 0; r < ranges.size() && r <= c.range; r++)
    if (ranges[r].Contains(ip) && (r < c.range || ip < c.next)) {
      c.range = r;
      c.next = ip;
      return;
    }
}

void Allocator::Take(const IpAddress& ip) {
  taken_.insert(ip);
  remote_.erase(ip);
  auto it = released_at_.find(ip);
  if (it == released_at_.end()) return;
  int set = pool_->SetContaining(ip);
  if (set >= 0) released_[set].erase({it->second, ip});
  released_at_.erase(it);
}

void Allocator::Release(const IpAddress& ip, int64_t released_at) {
  taken_.erase(ip);
  MarkReleased(ip, released_at);
}

uint64_t Allocator::Used(int set) const {
  uint64_t n = 0;
  for (const auto& ip : taken_)
    if (pool_->RangeContaining(set, ip)) n++;
  return n;
}

}  // namespace vmip
