// The result writer: a vmip.v1.AddReply (the input bytes, as the daemon's wire
// format) printed for every cniVersion, then read back as JSON and checked against
// the shapes documented in cni_result.h. Error and VERSION output are checked too.
#include <google/protobuf/stubs/logging.h>

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cni_result.h"
#include "cni_version.h"

using namespace vmip::cni;
using nlohmann::json;

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

bool IsV6(const std::string& s) {
  return s.find(':') != std::string::npos;
}

json ParseOutput(const std::string& out, const std::string& version) {
  Require(!out.empty() && out.back() == '\n');
  json j = json::parse(out);  // throws (and so crashes the fuzzer) on invalid JSON
  Require(j.is_object() && j.value("cniVersion", "") == version);
  return j;
}

void CheckRoute(const json& j, const vmip::v1::Route& r, bool v11) {
  Require(j.at("dst") == r.dst());
  Require(j.contains("gw") == !r.gw().empty());
  Require(j.contains("mtu") == (v11 && r.has_mtu()));
  Require(j.contains("advmss") == (v11 && r.has_advmss()));
  Require(j.contains("priority") == (v11 && r.has_priority()));
  Require(j.contains("table") == (v11 && r.has_table()));
  Require(j.contains("scope") == (v11 && r.has_scope()));
  if (v11 && r.has_mtu()) Require(j.at("mtu") == r.mtu());
}

void CheckModern(const json& j, const std::string& version, const vmip::v1::AddReply& reply) {
  bool with_ip_version = !VersionAtLeast(version, "1.0.0");
  bool v11 = VersionAtLeast(version, "1.1.0");
  Require(!j.contains("ip4") && !j.contains("ip6") && !j.contains("interfaces"));
  const json& ips = j.at("ips");
  Require(ips.is_array() && ips.size() == static_cast<size_t>(reply.ips_size()));
  for (int i = 0; i < reply.ips_size(); i++) {
    const auto& want = reply.ips(i);
    const json& got = ips[i];
    Require(got.at("address") == want.address());
    Require(got.contains("gateway") == !want.gateway().empty());
    Require(got.contains("version") == with_ip_version);
    if (with_ip_version) Require(got["version"] == (IsV6(want.address()) ? "6" : "4"));
  }
  Require(j.contains("routes") == (reply.routes_size() > 0));
  if (reply.routes_size()) {
    Require(j["routes"].size() == static_cast<size_t>(reply.routes_size()));
    for (int i = 0; i < reply.routes_size(); i++) CheckRoute(j["routes"][i], reply.routes(i), v11);
  }
}

// 0.1.0/0.2.0: the first address of each family, with that family's routes.
void CheckLegacy(const json& j, const vmip::v1::AddReply& reply) {
  Require(!j.contains("ips"));
  for (bool v6 : {false, true}) {
    const char* key = v6 ? "ip6" : "ip4";
    const vmip::v1::IpConfig* first = nullptr;
    for (const auto& ip : reply.ips())
      if (!first && IsV6(ip.address()) == v6) first = &ip;
    Require(j.contains(key) == (first != nullptr));
    if (!first) continue;
    Require(j[key].at("ip") == first->address());
    size_t routes = 0;
    for (const auto& r : reply.routes()) routes += IsV6(r.dst()) == v6;
    Require(j[key].contains("routes") == (routes > 0));
    if (routes) Require(j[key]["routes"].size() == routes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // rejected non-UTF-8 strings are expected
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vmip::v1::AddReply reply;
  if (!reply.ParseFromArray(data, static_cast<int>(size))) return 0;
  for (const char* v : kSupportedVersions) {
    std::string version = v, out;
    CniError err = FormatAddResult(version, reply, &out);
    if (!VersionAtLeast(version, "0.3.0") && reply.ips_size() == 0) {
      Require(err.code == kInternal && out.empty());
      continue;
    }
    Require(err.ok());
    json j = ParseOutput(out, version);
    Require(j.contains("dns") && j["dns"].is_object());
    Require(j["dns"].value("domain", "") == reply.dns().domain());
    if (VersionAtLeast(version, "0.3.0"))
      CheckModern(j, version, reply);
    else
      CheckLegacy(j, reply);

    // Error objects carry any message, even one that is not UTF-8.
    CniError e{reply.error().code(), reply.error().msg(), reply.error().details()};
    json ej = ParseOutput(FormatError(version, e), version);
    Require(ej.at("code") == e.code && ej.contains("details") == !e.details.empty());
    ParseOutput(FormatVersionInfo(version), version);
  }
  return 0;
}
