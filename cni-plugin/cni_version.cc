#include "cni_version.h"

namespace vmip::cni {
namespace {

int VersionIndex(const std::string& v) {
  for (size_t i = 0; i < kSupportedVersions.size(); ++i) {
    if (v == kSupportedVersions[i]) return static_cast<int>(i);
  }
  return -1;
}

// Go's %q rendering of a []string, as in skel's details: ["0.1.0" "0.2.0" ...]
std::string QuotedList() {
  std::string s = "[";
  for (size_t i = 0; i < kSupportedVersions.size(); ++i) {
    s += (i ? " \"" : "\"") + std::string(kSupportedVersions[i]) + "\"";
  }
  return s + "]";
}

}  // namespace

bool IsSupportedVersion(const std::string& v) {
  return VersionIndex(v) >= 0;
}

bool VersionAtLeast(const std::string& v, const char* min) {
  return VersionIndex(v) >= VersionIndex(min);
}

CniError CheckSupported(const std::string& v) {
  if (IsSupportedVersion(v)) return CniError::Ok();
  return MakeError(kIncompatibleVersion, "incompatible CNI versions",
                   "config is \"" + v + "\", plugin supports " + QuotedList());
}

CniError CheckCommandAllowed(Command cmd, const std::string& v) {
  if (cmd == Command::kCheck && !VersionAtLeast(v, "0.4.0")) {
    return MakeError(kIncompatibleVersion, "config version does not allow CHECK");
  }
  if (cmd == Command::kGc && !VersionAtLeast(v, "1.1.0")) {
    return MakeError(kIncompatibleVersion, "config version does not allow GC");
  }
  if (cmd == Command::kStatus && !VersionAtLeast(v, "1.1.0")) {
    return MakeError(kIncompatibleVersion, "config version does not allow STATUS");
  }
  return CniError::Ok();
}

CniError CheckAddressesPerFamily(const std::string& v, const vmip::v1::PoolConfig& pool) {
  if (VersionAtLeast(v, "0.3.0")) return CniError::Ok();
  int v4 = 0, v6 = 0;
  for (const auto& set : pool.range_sets()) {
    if (set.ranges_size() == 0) continue;
    (AddressFamily(set.ranges(0).subnet())[0] == '6' ? v6 : v4)++;
  }
  if (v4 > 1 || v6 > 1) {
    return MakeError(kInvalidConfig,
                     "CNI version " + v + " does not support more than 1 address per family");
  }
  return CniError::Ok();
}

const char* AddressFamily(const std::string& address) {
  return address.find(':') == std::string::npos ? "4" : "6";
}

}  // namespace vmip::cni
