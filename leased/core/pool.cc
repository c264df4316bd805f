#include "pool.h"

#include <algorithm>
#include <limits>

namespace vmip {
namespace {

Error ConfigError(const std::string& where, const std::string& what) {
  return MakeError(kInvalidConfig, "ipam." + where + ": " + what);
}

Result<IpAddress> ParseBoundary(const std::string& where, const std::string& text,
                                const Cidr& subnet) {
  auto ip = ParseIp(text);
  if (!ip) return ConfigError(where, "\"" + text + "\" is not an IP address");
  if (!subnet.Contains(*ip))
    return ConfigError(where, text + " is outside subnet " + subnet.ToString());
  return *ip;
}

// Host-local defaults: start = network+1, end = broadcast-1 (v4) or the last address (v6).
Result<AddressRange> ParseRange(const std::string& where, const v1::Range& r) {
  auto subnet = ParseCidr(r.subnet());
  if (!subnet) return ConfigError(where + ".subnet", "\"" + r.subnet() + "\" is not a CIDR");
  if (subnet->HasHostBits())
    return ConfigError(where + ".subnet", r.subnet() + " has host bits set (network is " +
                                              subnet->First().ToString() + ")");
  int max_prefix = subnet->base.v6 ? 126 : 30;
  if (subnet->prefix > max_prefix)
    return ConfigError(where + ".subnet", r.subnet() + " is too small to allocate from");
  AddressRange range;
  range.subnet = *subnet;
  range.start = subnet->First().Plus(1);
  range.end = subnet->base.v6 ? subnet->Last() : subnet->Last().Minus(1);
  if (!r.range_start().empty()) {
    auto ip = ParseBoundary(where + ".rangeStart", r.range_start(), *subnet);
    if (!ip.ok()) return ip.error();
    range.start = ip.value();
  }
  if (!r.range_end().empty()) {
    auto ip = ParseBoundary(where + ".rangeEnd", r.range_end(), *subnet);
    if (!ip.ok()) return ip.error();
    range.end = ip.value();
  }
  if (range.end < range.start)
    return ConfigError(where, "rangeEnd " + range.end.ToString() + " is before rangeStart " +
                                  range.start.ToString());
  range.gateway = subnet->First().Plus(1);
  range.has_gateway = true;
  if (!r.gateway().empty()) {
    auto ip = ParseBoundary(where + ".gateway", r.gateway(), *subnet);
    if (!ip.ok()) return ip.error();
    range.gateway = ip.value();
  }
  return range;
}

bool Overlaps(const AddressRange& a, const AddressRange& b) {
  return a.start.v6 == b.start.v6 && a.start <= b.end && b.start <= a.end;
}

Result<RangeSet> ParseRangeSet(const std::string& where, const v1::RangeSet& rs) {
  if (rs.ranges().empty()) return ConfigError(where, "empty range set");
  RangeSet set;
  for (int i = 0; i < rs.ranges_size(); i++) {
    auto range = ParseRange(where + "[" + std::to_string(i) + "]", rs.ranges(i));
    if (!range.ok()) return range.error();
    if (!set.ranges.empty() && set.ranges.front().start.v6 != range.value().start.v6)
      return ConfigError(where, "mixes IPv4 and IPv6 ranges in one range set");
    set.ranges.push_back(range.value());
  }
  return set;
}

Error CheckNoOverlap(const std::vector<RangeSet>& sets) {
  for (size_t a = 0; a < sets.size(); a++)
    for (size_t b = a; b < sets.size(); b++)
      for (size_t i = 0; i < sets[a].ranges.size(); i++)
        for (size_t j = (a == b ? i + 1 : 0); j < sets[b].ranges.size(); j++)
          if (Overlaps(sets[a].ranges[i], sets[b].ranges[j]))
            return ConfigError("ranges", "range " + sets[a].ranges[i].subnet.ToString() +
                                             " overlaps with " +
                                             sets[b].ranges[j].subnet.ToString());
  return Error{};
}

}  // namespace

bool IsValidNetworkName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

Result<Pool> Pool::FromConfig(const std::string& network, const v1::PoolConfig& config) {
  if (!IsValidNetworkName(network))
    return MakeError(kInvalidConfig, "invalid network name \"" + network + "\"");
  if (config.range_sets().empty()) return ConfigError("ranges", "no ranges configured");
  Pool pool;
  pool.network_ = network;
  pool.config_ = config;
  for (int i = 0; i < config.range_sets_size(); i++) {
    auto set = ParseRangeSet("ranges[" + std::to_string(i) + "]", config.range_sets(i));
    if (!set.ok()) return set.error();
    pool.sets_.push_back(set.value());
  }
  Error overlap = CheckNoOverlap(pool.sets_);
  if (overlap.code != 0) return overlap;
  for (int i = 0; i < config.exclude_size(); i++) {
    auto cidr = ParseCidr(config.exclude(i), /*allow_bare=*/true);
    if (!cidr)
      return ConfigError("exclude[" + std::to_string(i) + "]",
                         "\"" + config.exclude(i) + "\" is not an IP address or CIDR");
    pool.exclude_.push_back(Cidr{cidr->First(), cidr->prefix});
  }
  for (int i = 0; i < config.routes_size(); i++) {
    if (!ParseCidr(config.routes(i).dst()))
      return ConfigError("routes[" + std::to_string(i) + "].dst",
                         "\"" + config.routes(i).dst() + "\" is not a CIDR");
    if (!config.routes(i).gw().empty() && !ParseIp(config.routes(i).gw()))
      return ConfigError("routes[" + std::to_string(i) + "].gw",
                         "\"" + config.routes(i).gw() + "\" is not an IP address");
  }
  return pool;
}

int Pool::SetContaining(const IpAddress& ip) const {
  for (size_t s = 0; s < sets_.size(); s++)
    if (RangeContaining(static_cast<int>(s), ip)) return static_cast<int>(s);
  return -1;
}

const AddressRange* Pool::RangeContaining(int set, const IpAddress& ip) const {
  for (const auto& r : sets_[set].ranges)
    if (r.Contains(ip)) return &r;
  return nullptr;
}

const Cidr* Pool::ExclusionCovering(const IpAddress& ip) const {
  for (const auto& c : exclude_)
    if (c.Contains(ip)) return &c;
  return nullptr;
}

bool Pool::IsReserved(const IpAddress& ip) const {
  for (const auto& set : sets_)
    for (const auto& r : set.ranges)
      if (r.has_gateway && r.gateway == ip) return true;
  return ExclusionCovering(ip) != nullptr;
}

uint64_t Pool::Size(int set) const {
  uint64_t total = 0;
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  for (const auto& r : sets_[set].ranges) {
    uint64_t n = CountSaturating(r.start, r.end);
    if (r.has_gateway && r.Contains(r.gateway) && n != max) n--;
    total = (max - total < n) ? max : total + n;
  }
  return total;
}

std::string Pool::Describe() const {
  std::string out;
  for (size_t s = 0; s < sets_.size(); s++) {
    if (s) out += " / ";
    for (size_t i = 0; i < sets_[s].ranges.size(); i++) {
      if (i) out += ",";
      out += sets_[s].ranges[i].start.ToString() + "-" + sets_[s].ranges[i].end.ToString();
    }
  }
  return out;
}

}  // namespace vmip
