#include "cni_result.h"

#include <nlohmann/json.hpp>

#include "cni_version.h"

#ifndef VMIP_VERSION
#define VMIP_VERSION "unknown"
#endif

namespace vmip::cni {
namespace {

// ordered_json keeps keys in the order written, so output reads like the spec examples.
using Json = nlohmann::ordered_json;

bool IsV6(const std::string& address) {
  return AddressFamily(address)[0] == '6';
}

Json RouteJson(const vmip::v1::Route& r, bool with_v11_fields) {
  Json j = {{"dst", r.dst()}};
  if (!r.gw().empty()) j["gw"] = r.gw();
  if (!with_v11_fields) return j;
  if (r.has_mtu()) j["mtu"] = r.mtu();
  if (r.has_advmss()) j["advmss"] = r.advmss();
  if (r.has_priority()) j["priority"] = r.priority();
  if (r.has_table()) j["table"] = r.table();
  if (r.has_scope()) j["scope"] = r.scope();
  return j;
}

Json DnsJson(const vmip::v1::Dns& d) {
  Json j = Json::object();
  auto list = [](const auto& repeated) {
    return Json(std::vector<std::string>(repeated.begin(), repeated.end()));
  };
  if (d.nameservers_size()) j["nameservers"] = list(d.nameservers());
  if (!d.domain().empty()) j["domain"] = d.domain();
  if (d.search_size()) j["search"] = list(d.search());
  if (d.options_size()) j["options"] = list(d.options());
  return j;
}

// 0.3.0 and later: a list of ips, with "version" before 1.0.0.
Json ModernResult(const std::string& version, const vmip::v1::AddReply& reply) {
  bool with_ip_version = !VersionAtLeast(version, "1.0.0");
  bool with_v11_routes = VersionAtLeast(version, "1.1.0");
  Json ips = Json::array();
  for (const auto& ip : reply.ips()) {
    Json j = Json::object();
    if (with_ip_version) j["version"] = AddressFamily(ip.address());
    j["address"] = ip.address();
    if (!ip.gateway().empty()) j["gateway"] = ip.gateway();
    ips.push_back(std::move(j));
  }
  Json result = {{"cniVersion", version}, {"ips", std::move(ips)}};
  if (reply.routes_size()) {
    Json routes = Json::array();
    for (const auto& r : reply.routes()) routes.push_back(RouteJson(r, with_v11_routes));
    result["routes"] = std::move(routes);
  }
  result["dns"] = DnsJson(reply.dns());
  return result;
}

// 0.1.0/0.2.0: the first address of a family, with the routes whose dst is that family.
Json LegacyIpJson(const vmip::v1::IpConfig& ip, const vmip::v1::AddReply& reply) {
  Json j = {{"ip", ip.address()}};
  if (!ip.gateway().empty()) j["gateway"] = ip.gateway();
  Json routes = Json::array();
  for (const auto& r : reply.routes()) {
    if (IsV6(r.dst()) == IsV6(ip.address())) routes.push_back(RouteJson(r, false));
  }
  if (!routes.empty()) j["routes"] = std::move(routes);
  return j;
}

CniError LegacyResult(const std::string& version, const vmip::v1::AddReply& reply, Json* out) {
  const vmip::v1::IpConfig* first[2] = {nullptr, nullptr};  // [0] v4, [1] v6
  for (const auto& ip : reply.ips()) {
    auto& slot = first[IsV6(ip.address()) ? 1 : 0];
    if (!slot) slot = &ip;
  }
  if (!first[0] && !first[1]) {
    return MakeError(kInternal, "cannot convert: no valid IP addresses");
  }
  *out = {{"cniVersion", version}};
  if (first[0]) (*out)["ip4"] = LegacyIpJson(*first[0], reply);
  if (first[1]) (*out)["ip6"] = LegacyIpJson(*first[1], reply);
  (*out)["dns"] = DnsJson(reply.dns());
  return CniError::Ok();
}

}  // namespace

CniError FormatAddResult(const std::string& version, const vmip::v1::AddReply& reply,
                         std::string* out) {
  Json result;
  if (VersionAtLeast(version, "0.3.0")) {
    result = ModernResult(version, reply);
  } else if (auto err = LegacyResult(version, reply, &result); !err.ok()) {
    return err;
  }
  *out = result.dump() + "\n";
  return CniError::Ok();
}

std::string FormatError(const std::string& version, const CniError& err) {
  Json j = {{"cniVersion", version}, {"code", err.code}, {"msg", err.msg}};
  if (!err.details.empty()) j["details"] = err.details;
  // Replace invalid UTF-8 (e.g. from a hostile env value) rather than throw.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string FormatVersionInfo(const std::string& version) {
  Json j = {{"cniVersion", version},
            {"supportedVersions",
             std::vector<std::string>(kSupportedVersions.begin(), kSupportedVersions.end())}};
  return j.dump() + "\n";
}

std::string AboutText() {
  std::string s = "CNI vmip plugin version " VMIP_VERSION "\nCNI protocol versions supported: ";
  for (size_t i = 0; i < kSupportedVersions.size(); ++i) {
    s += (i ? ", " : "") + std::string(kSupportedVersions[i]);
  }
  return s + "\n";
}

}  // namespace vmip::cni
