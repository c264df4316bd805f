#include "ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <limits>

namespace vmip {
namespace {

u128 HostMask(int bits, int prefix) {
  int host = bits - prefix;
  if (host <= 0) return 0;
  if (host >= 128) return ~u128{0};
  return (u128{1} << host) - 1;
}

}  // namespace

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (!v6) {
    uint32_t be = htonl(static_cast<uint32_t>(value));
    inet_ntop(AF_INET, &be, buf, sizeof buf);
  } else {
    unsigned char bytes[16];
    for (int i = 0; i < 16; i++) bytes[i] = static_cast<unsigned char>(value >> (8 * (15 - i)));
    inet_ntop(AF_INET6, bytes, buf, sizeof buf);
  }
  return buf;
}

std::optional<IpAddress> ParseIp(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  unsigned char bytes[16];
  if (inet_pton(AF_INET, buf, bytes) == 1) {
    uint32_t v = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) |
                 (uint32_t{bytes[2]} << 8) | bytes[3];
    return IpAddress{false, v};
  }
  if (inet_pton(AF_INET6, buf, bytes) == 1) {
    u128 v = 0;
    for (unsigned char b : bytes) v = (v << 8) | b;
    return IpAddress{true, v};
  }
  return std::nullopt;
}

IpAddress Cidr::First() const {
  return IpAddress{base.v6, base.value & ~HostMask(base.bits(), prefix)};
}

IpAddress Cidr::Last() const {
  return IpAddress{base.v6, First().value | HostMask(base.bits(), prefix)};
}

bool Cidr::Contains(const IpAddress& ip) const {
  return ip.v6 == base.v6 && First().value <= ip.value && ip.value <= Last().value;
}

std::string Cidr::ToString() const {
  return base.ToString() + "/" + std::to_string(prefix);
}

std::optional<Cidr> ParseCidr(std::string_view text, bool allow_bare) {
  size_t slash = text.find('/');
  auto ip = ParseIp(text.substr(0, slash));
  if (!ip) return std::nullopt;
  if (slash == std::string_view::npos) {
    if (!allow_bare) return std::nullopt;
    return Cidr{*ip, ip->bits()};
  }
  std::string_view p = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (ec != std::errc() || end != p.data() + p.size() || p.empty()) return std::nullopt;
  if (prefix < 0 || prefix > ip->bits()) return std::nullopt;
  return Cidr{*ip, prefix};
}

uint64_t CountSaturating(const IpAddress& first, const IpAddress& last) {
  if (last.value < first.value) return 0;
  u128 n = last.value - first.value;
  if (n >= std::numeric_limits<uint64_t>::max()) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(n) + 1;
}

}  // namespace vmip
