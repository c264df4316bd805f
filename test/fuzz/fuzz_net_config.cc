// The network config parser (stdin JSON), for every command. It must never crash or
// throw, and when it accepts a config:
// - the result is self-consistent (supported version, valid name, non-empty pool for
//   the commands that need one) and PeekCniVersion agrees with it;
// - writing the parsed config back as canonical JSON and parsing that gives the same
//   config (nothing is lost or invented);
// - a config ADD accepts is accepted by DEL too (DEL must never be harder than ADD).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cni_version.h"
#include "net_config.h"

using namespace vmip::cni;
using nlohmann::json;

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

template <typename Repeated>
json List(const Repeated& r) {
  return json(std::vector<std::string>(r.begin(), r.end()));
}

json RangeJson(const vmip::v1::Range& r) {
  return {{"subnet", r.subnet()},
          {"rangeStart", r.range_start()},
          {"rangeEnd", r.range_end()},
          {"gateway", r.gateway()}};
}

json RouteJson(const vmip::v1::Route& r) {
  json j = {{"dst", r.dst()}, {"gw", r.gw()}};
  if (r.has_mtu()) j["mtu"] = r.mtu();
  if (r.has_advmss()) j["advmss"] = r.advmss();
  if (r.has_priority()) j["priority"] = r.priority();
  if (r.has_table()) j["table"] = r.table();
  if (r.has_scope()) j["scope"] = r.scope();
  return j;
}

// The parsed config written back in the one canonical shape the parser documents.
std::string Canonical(const NetConfig& c, Command cmd) {
  json ipam = {{"type", "vmip"}, {"socket", c.socket}, {"spoolDir", c.spool_dir}};
  if (c.pool.range_sets_size()) {
    json sets = json::array();
    for (const auto& set : c.pool.range_sets()) {
      json ranges = json::array();
      for (const auto& r : set.ranges()) ranges.push_back(RangeJson(r));
      sets.push_back(ranges);
    }
    ipam["ranges"] = sets;
    json routes = json::array();
    for (const auto& r : c.pool.routes()) routes.push_back(RouteJson(r));
    ipam["routes"] = routes;
    const auto& d = c.pool.dns();
    ipam["dns"] = {{"nameservers", List(d.nameservers())},
                   {"domain", d.domain()},
                   {"search", List(d.search())},
                   {"options", List(d.options())}};
    ipam["exclude"] = List(c.pool.exclude());
  }
  json cni = json::object();
  if (c.args_ips) cni["ips"] = *c.args_ips;
  if (c.args_vm) cni["vm"] = *c.args_vm;
  if (c.args_reservation) cni["reservation"] = *c.args_reservation;
  json conf = {{"cniVersion", c.cni_version},
               {"name", c.name},
               {"type", "bridge"},
               {"ipam", ipam},
               {"args", {{"cni", cni}}},
               {"runtimeConfig", {{"ips", c.runtime_ips}}}};
  if (cmd == Command::kCheck) {
    json ips = json::array();
    for (const auto& ip : c.prev_result_ips) ips.push_back({{"address", ip}});
    conf["prevResult"] = {{"ips", ips}};
  }
  if (cmd == Command::kGc) {
    json atts = json::array();
    for (const auto& a : c.valid_attachments)
      atts.push_back({{"containerID", a.container_id()}, {"ifname", a.ifname()}});
    conf["cni.dev/valid-attachments"] = atts;
  }
  return conf.dump();
}

bool Same(const NetConfig& a, const NetConfig& b) {
  auto attachments = [](const NetConfig& c) {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto& r : c.valid_attachments) v.emplace_back(r.container_id(), r.ifname());
    return v;
  };
  return a.cni_version == b.cni_version && a.name == b.name &&
         a.pool.SerializeAsString() == b.pool.SerializeAsString() && a.socket == b.socket &&
         a.spool_dir == b.spool_dir && a.args_ips == b.args_ips && a.runtime_ips == b.runtime_ips &&
         a.args_vm == b.args_vm && a.args_reservation == b.args_reservation &&
         a.prev_result_ips == b.prev_result_ips && attachments(a) == attachments(b);
}

void CheckAccepted(const std::string& bytes, Command cmd, const NetConfig& c) {
  Require(IsSupportedVersion(c.cni_version));
  Require(PeekCniVersion(bytes) == c.cni_version || c.cni_version == kImplicitVersion);
  Require(IsValidCniName(c.name));
  bool needs_pool = cmd == Command::kAdd || cmd == Command::kCheck || cmd == Command::kStatus;
  Require(needs_pool == (c.pool.range_sets_size() > 0));
  for (const auto& set : c.pool.range_sets()) {
    Require(set.ranges_size() > 0);
    for (const auto& r : set.ranges()) Require(!r.subnet().empty());
  }
  for (const auto& r : c.pool.routes()) Require(!r.dst().empty());
  for (const auto& ip : c.prev_result_ips) Require(ip.find('/') == std::string::npos);

  NetConfig again;
  std::string canonical = Canonical(c, cmd);
  CniError err = ParseNetConfig(canonical, cmd, &again);
  Require(err.ok() && Same(c, again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  bool add_ok = false, del_ok = false;
  for (Command cmd :
       {Command::kAdd, Command::kDel, Command::kCheck, Command::kGc, Command::kStatus}) {
    NetConfig c;
    CniError err = ParseNetConfig(bytes, cmd, &c);
    if (err.ok()) {
      CheckAccepted(bytes, cmd, c);
    } else {
      Require(err.code == kIncompatibleVersion || err.code == kDecodeFailure ||
              err.code == kInvalidConfig);
      Require(!err.msg.empty());
    }
    if (cmd == Command::kAdd) add_ok = err.ok();
    if (cmd == Command::kDel) del_ok = err.ok();
  }
  Require(!add_ok || del_ok);
  PeekCniVersion(bytes);
  return 0;
}
