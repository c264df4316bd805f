// A network's address pool, validated from the inline host-local style config.
// Validation lives here so the daemon treats every config as untrusted input.
#pragma once

#include <string>
#include <vector>

#include "error.h"
#include "ip_address.h"
#include "vmip.pb.h"

namespace vmip {

struct AddressRange {
  Cidr subnet;
  IpAddress start;  // first assignable
  IpAddress end;    // last assignable
  IpAddress gateway;
  bool has_gateway = false;

  bool Contains(const IpAddress& ip) const { return start <= ip && ip <= end && ip.v6 == start.v6; }
};

// One address is handed out per range set; its ranges are tried in order.
struct RangeSet {
  std::vector<AddressRange> ranges;
  bool v6() const { return ranges.front().start.v6; }
};

class Pool {
 public:
  static Result<Pool> FromConfig(const std::string& network, const v1::PoolConfig& config);

  const std::string& network() const { return network_; }
  const std::vector<RangeSet>& sets() const { return sets_; }
  const v1::PoolConfig& config() const { return config_; }

  // Index of the range set containing ip, or -1.
  int SetContaining(const IpAddress& ip) const;
  // The range (of set) containing ip, or nullptr.
  const AddressRange* RangeContaining(int set, const IpAddress& ip) const;
  // Gateways and `exclude` entries are never handed out.
  bool IsReserved(const IpAddress& ip) const;
  // If ip is excluded, the last address of the exclusion covering it (to skip ahead).
  const Cidr* ExclusionCovering(const IpAddress& ip) const;
  // Assignable addresses in a set (saturating for huge IPv6 ranges).
  uint64_t Size(int set) const;
  // "start-end" of every range, range sets separated by " / ".
  std::string Describe() const;

 private:
  std::string network_;
  std::vector<RangeSet> sets_;
  std::vector<Cidr> exclude_;
  v1::PoolConfig config_;
};

// The CNI network name rule: the same as a container ID.
bool IsValidNetworkName(const std::string& name);

}  // namespace vmip
