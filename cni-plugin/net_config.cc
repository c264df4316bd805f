#include "net_config.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "cni_version.h"
#include "duration.h"

namespace vmip::cni {
namespace {

using nlohmann::json;

// Thrown only inside this file and turned into a code 7 CniError at the boundary.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The member, or nullptr when absent or null.
const json* Member(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Join(const std::string& path, const char* key) {
  return path.empty() ? key : path + "." + key;
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const json* ObjectAt(const json& obj, const char* key, const std::string& path) {
  const json* v = Member(obj, key);
  if (v && !v->is_object()) throw ConfigError(Join(path, key) + " must be an object");
  return v;
}

const json* ListAt(const json& obj, const char* key, const std::string& path) {
  const json* v = Member(obj, key);
  if (v && !v->is_array()) throw ConfigError(Join(path, key) + " must be a list");
  return v;
}

std::optional<std::string> OptStringAt(const json& obj, const char* key, const std::string& path) {
  const json* v = Member(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw ConfigError(Join(path, key) + " must be a string");
  return v->get<std::string>();
}

std::string StringAt(const json& obj, const char* key, const std::string& path) {
  return OptStringAt(obj, key, path).value_or("");
}

std::optional<std::vector<std::string>> OptStringListAt(const json& obj, const char* key,
                                                        const std::string& path) {
  const json* list = ListAt(obj, key, path);
  if (!list) return std::nullopt;
  std::vector<std::string> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    if (!item.is_string()) throw ConfigError(Index(Join(path, key), i) + " must be a string");
    out.push_back(item.get<std::string>());
  }
  return out;
}

template <typename Repeated>
void AppendStrings(const json& obj, const char* key, const std::string& path, Repeated* to) {
  for (auto& s : OptStringListAt(obj, key, path).value_or(std::vector<std::string>{})) {
    to->Add(std::move(s));
  }
}

// Sets *value and returns true when key holds an int32; absent keys return false.
bool IntAt(const json& obj, const char* key, const std::string& path, int32_t* value) {
  const json* v = Member(obj, key);
  if (!v) return false;
  if (!v->is_number_integer()) throw ConfigError(Join(path, key) + " must be an integer");
  bool too_big = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t{INT32_MAX};
  int64_t n = too_big ? 0 : v->get<int64_t>();
  if (too_big || n < INT32_MIN || n > INT32_MAX)
    throw ConfigError(Join(path, key) + " is out of range");
  *value = static_cast<int32_t>(n);
  return true;
}

void ParseRange(const json& r, const std::string& path, vmip::v1::Range* out) {
  if (!r.is_object()) throw ConfigError(path + " must be an object");
  auto subnet = OptStringAt(r, "subnet", path);
  if (!subnet || subnet->empty()) throw ConfigError(Join(path, "subnet") + " is required");
  out->set_subnet(*subnet);
  out->set_range_start(StringAt(r, "rangeStart", path));
  out->set_range_end(StringAt(r, "rangeEnd", path));
  out->set_gateway(StringAt(r, "gateway", path));
}

// Legacy host-local shorthand: ipam.subnet/rangeStart/rangeEnd/gateway as one range set,
// placed before "ranges".
void ParseLegacySubnet(const json& ipam, vmip::v1::PoolConfig* pool) {
  if (!Member(ipam, "subnet")) return;
  ParseRange(ipam, "ipam", pool->add_range_sets()->add_ranges());
}

void ParseRanges(const json& ipam, vmip::v1::PoolConfig* pool) {
  const json* sets = ListAt(ipam, "ranges", "ipam");
  if (!sets) return;
  for (size_t i = 0; i < sets->size(); ++i) {
    const json& set = (*sets)[i];
    std::string set_path = Index("ipam.ranges", i);
    if (!set.is_array()) throw ConfigError(set_path + " must be a list");
    if (set.empty()) throw ConfigError(set_path + " must not be empty");
    auto* out = pool->add_range_sets();
    for (size_t j = 0; j < set.size(); ++j)
      ParseRange(set[j], Index(set_path, j), out->add_ranges());
  }
}

void ParseRoute(const json& r, const std::string& path, vmip::v1::Route* out) {
  if (!r.is_object()) throw ConfigError(path + " must be an object");
  auto dst = OptStringAt(r, "dst", path);
  if (!dst || dst->empty()) throw ConfigError(Join(path, "dst") + " is required");
  out->set_dst(*dst);
  out->set_gw(StringAt(r, "gw", path));
  int32_t v = 0;
  if (IntAt(r, "mtu", path, &v)) out->set_mtu(v), out->set_has_mtu(true);
  if (IntAt(r, "advmss", path, &v)) out->set_advmss(v), out->set_has_advmss(true);
  if (IntAt(r, "priority", path, &v)) out->set_priority(v), out->set_has_priority(true);
  if (IntAt(r, "table", path, &v)) out->set_table(v), out->set_has_table(true);
  if (IntAt(r, "scope", path, &v)) out->set_scope(v), out->set_has_scope(true);
}

void ParseDns(const json& ipam, vmip::v1::Dns* out) {
  const json* dns = ObjectAt(ipam, "dns", "ipam");
  if (!dns) return;
  AppendStrings(*dns, "nameservers", "ipam.dns", out->mutable_nameservers());
  out->set_domain(StringAt(*dns, "domain", "ipam.dns"));
  AppendStrings(*dns, "search", "ipam.dns", out->mutable_search());
  AppendStrings(*dns, "options", "ipam.dns", out->mutable_options());
}

// ipam.detachedTTL: a duration text ("90s", "15m", "12h", "7d") or a number of
// seconds; sent to the daemon in seconds, so it never parses JSON or durations.
void ParseDetachedTtl(const json& ipam, vmip::v1::PoolConfig* pool) {
  const json* v = Member(ipam, "detachedTTL");
  if (!v) return;
  std::string text;
  if (v->is_number_integer() && !(v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX))
    text = std::to_string(v->get<int64_t>());
  else if (v->is_string())
    text = v->get<std::string>();
  else
    throw ConfigError("ipam.detachedTTL must be a duration string or a number of seconds");
  Duration ttl = ParseDuration(text);
  if (!ttl.ok()) throw ConfigError("ipam.detachedTTL: " + ttl.error);
  pool->set_detached_ttl_seconds(ttl.seconds);
}

void ParsePool(const json& ipam, vmip::v1::PoolConfig* pool) {
  ParseLegacySubnet(ipam, pool);
  ParseRanges(ipam, pool);
  if (pool->range_sets_size() == 0) throw ConfigError("ipam: no ranges or subnet configured");
  if (const json* routes = ListAt(ipam, "routes", "ipam")) {
    for (size_t i = 0; i < routes->size(); ++i) {
      ParseRoute((*routes)[i], Index("ipam.routes", i), pool->add_routes());
    }
  }
  ParseDns(ipam, pool->mutable_dns());
  AppendStrings(ipam, "exclude", "ipam", pool->mutable_exclude());
  ParseDetachedTtl(ipam, pool);
}

void ParseArgs(const json& conf, NetConfig* out) {
  const json* args = ObjectAt(conf, "args", "");
  const json* cni = args ? ObjectAt(*args, "cni", "args") : nullptr;
  if (cni) {
    out->args_ips = OptStringListAt(*cni, "ips", "args.cni");
    out->args_vm = OptStringAt(*cni, "vm", "args.cni");
    out->args_reservation = OptStringAt(*cni, "reservation", "args.cni");
  }
  if (const json* rc = ObjectAt(conf, "runtimeConfig", "")) {
    out->runtime_ips = OptStringListAt(*rc, "ips", "runtimeConfig").value_or(out->runtime_ips);
  }
}

std::string WithoutPrefix(const std::string& cidr) {
  return cidr.substr(0, cidr.find('/'));
}

// prevResult in any version's shape: ips[].address (0.3.0+) or ip4.ip / ip6.ip (0.1/0.2).
void ParsePrevResult(const json& conf, NetConfig* out) {
  const json* prev = ObjectAt(conf, "prevResult", "");
  if (!prev) return;
  if (const json* ips = ListAt(*prev, "ips", "prevResult")) {
    for (size_t i = 0; i < ips->size(); ++i) {
      std::string path = Index("prevResult.ips", i);
      if (!(*ips)[i].is_object()) throw ConfigError(path + " must be an object");
      auto addr = OptStringAt((*ips)[i], "address", path);
      if (addr) out->prev_result_ips.push_back(WithoutPrefix(*addr));
    }
  }
  for (const char* family : {"ip4", "ip6"}) {
    const json* ip = ObjectAt(*prev, family, "prevResult");
    auto addr = ip ? OptStringAt(*ip, "ip", Join("prevResult", family)) : std::nullopt;
    if (addr) out->prev_result_ips.push_back(WithoutPrefix(*addr));
  }
}

// The union of both GC keys (the spec renamed the key after 1.1.0; libcni sends both).
void ParseGcAttachments(const json& conf, NetConfig* out) {
  bool seen_key = false;
  std::set<std::pair<std::string, std::string>> seen;
  for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
    if (conf.contains(key)) seen_key = true;
    const json* list = ListAt(conf, key, "");
    if (!list) continue;
    for (size_t i = 0; i < list->size(); ++i) {
      std::string path = Index(key, i);
      const json& a = (*list)[i];
      if (!a.is_object()) throw ConfigError(path + " must be an object");
      std::string id = StringAt(a, "containerID", path);
      std::string ifname = StringAt(a, "ifname", path);
      if (!seen.insert({id, ifname}).second) continue;
      auto& ref = out->valid_attachments.emplace_back();
      ref.set_container_id(id);
      ref.set_ifname(ifname);
    }
  }
  if (!seen_key) throw ConfigError("GC: cni.dev/valid-attachments missing");
}

bool NeedsPool(Command cmd) {
  return cmd == Command::kAdd || cmd == Command::kCheck || cmd == Command::kStatus;
}

CniError ParseName(const json& conf, NetConfig* out) {
  const json* name = Member(conf, "name");
  if (!name || !name->is_string() || name->get<std::string>().empty()) {
    return MakeError(kInvalidConfig, "missing network name");
  }
  out->name = name->get<std::string>();
  if (!IsValidCniName(out->name)) {
    return MakeError(kInvalidConfig, "invalid characters in network name",
                     "name \"" + out->name + "\" must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");
  }
  return CniError::Ok();
}

// Everything after name and version: may throw ConfigError.
void ParseBody(const json& conf, Command cmd, NetConfig* out) {
  const json* ipam = ObjectAt(conf, "ipam", "");
  if (NeedsPool(cmd)) {
    if (!ipam) throw ConfigError("missing ipam section");
    ParsePool(*ipam, &out->pool);
  }
  if (ipam) {
    out->socket = OptStringAt(*ipam, "socket", "ipam").value_or(kDefaultSocket);
    out->spool_dir = OptStringAt(*ipam, "spoolDir", "ipam").value_or(kDefaultSpoolDir);
  }
  ParseArgs(conf, out);
  if (cmd == Command::kCheck) ParsePrevResult(conf, out);
  if (cmd == Command::kGc) ParseGcAttachments(conf, out);
}

CniError DecodeObject(const std::string& bytes, json* conf) {
  try {
    *conf = json::parse(bytes);
  } catch (const json::exception& e) {
    return MakeError(kDecodeFailure, std::string("failed to decode network config: ") + e.what());
  }
  if (!conf->is_object()) {
    return MakeError(kDecodeFailure, "failed to decode network config: not a JSON object");
  }
  return CniError::Ok();
}

CniError ParseVersion(const json& conf, NetConfig* out) {
  const json* v = Member(conf, "cniVersion");
  if (v && !v->is_string()) {
    return MakeError(kDecodeFailure,
                     "failed to decode network config: cniVersion must be a string");
  }
  out->cni_version = v ? v->get<std::string>() : kImplicitVersion;
  return CheckSupported(out->cni_version);
}

}  // namespace

CniError ReadConfigBytes(int fd, std::string* out) {
  out->clear();
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return MakeError(kIoFailure, std::string("failed to read stdin: ") + strerror(errno));
    if (n == 0) return CniError::Ok();
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > kMaxStdinBytes) {
      return MakeError(kIoFailure,
                       "network config on stdin exceeds the 1 MiB (1048576 bytes) limit");
    }
  }
}

CniError ParseNetConfig(const std::string& bytes, Command cmd, NetConfig* out) {
  *out = NetConfig{};
  json conf;
  if (auto err = DecodeObject(bytes, &conf); !err.ok()) return err;
  if (auto err = ParseVersion(conf, out); !err.ok()) return err;
  if (auto err = ParseName(conf, out); !err.ok()) return err;
  if (auto err = CheckCommandAllowed(cmd, out->cni_version); !err.ok()) return err;
  try {
    ParseBody(conf, cmd, out);
  } catch (const ConfigError& e) {
    return MakeError(kInvalidConfig, e.what());
  } catch (const json::exception& e) {  // defensive: a type mismatch not caught above
    return MakeError(kInvalidConfig, e.what());
  }
  if (cmd == Command::kAdd) return CheckAddressesPerFamily(out->cni_version, out->pool);
  return CniError::Ok();
}

std::string PeekCniVersion(const std::string& bytes) {
  json conf = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!conf.is_object()) return kCurrentVersion;
  auto it = conf.find("cniVersion");
  if (it == conf.end() || !it->is_string()) return kCurrentVersion;
  std::string v = it->get<std::string>();
  return IsSupportedVersion(v) ? v : kCurrentVersion;
}

}  // namespace vmip::cni
