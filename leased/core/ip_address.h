// An IPv4 or IPv6 address as a 128-bit number, so ranges are plain integer math.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmip {

using u128 = unsigned __int128;

struct IpAddress {
  bool v6 = false;
  u128 value = 0;

  int bits() const { return v6 ? 128 : 32; }
  std::string ToString() const;
  IpAddress Plus(u128 n) const { return IpAddress{v6, value + n}; }
  IpAddress Minus(u128 n) const { return IpAddress{v6, value - n}; }

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.v6 == b.v6 && a.value == b.value;
  }
  friend bool operator!=(const IpAddress& a, const IpAddress& b) { return !(a == b); }
  friend bool operator<(const IpAddress& a, const IpAddress& b) {
    return a.v6 != b.v6 ? b.v6 : a.value < b.value;
  }
  friend bool operator<=(const IpAddress& a, const IpAddress& b) { return !(b < a); }
};

// Parses a bare address; rejects zone ids ("fe80::1%eth0") and prefixes.
std::optional<IpAddress> ParseIp(std::string_view text);

struct Cidr {
  IpAddress base;  // as written; may have host bits
  int prefix = 0;

  IpAddress First() const;  // network address
  IpAddress Last() const;   // broadcast / all-ones
  bool Contains(const IpAddress& ip) const;
  bool HasHostBits() const { return base != First(); }
  std::string ToString() const;
};

// Parses "addr/prefix". With allow_bare, a bare address is a host route (/32, /128).
std::optional<Cidr> ParseCidr(std::string_view text, bool allow_bare = false);

// Number of addresses in [first, last], saturating at UINT64_MAX for huge v6 ranges.
uint64_t CountSaturating(const IpAddress& first, const IpAddress& last);

}  // namespace vmip
