// CNI spec versions: which ones vmip speaks and what each one allows
// (checklist CFG-10, CHK-1, GC-1, ST-4, VER-2, and the 0.2.0 one-address-per-family rule).
#pragma once

#include <array>
#include <string>

#include "cni_env.h"
#include "cni_error.h"
#include "vmip.pb.h"

namespace vmip::cni {

inline constexpr std::array<const char*, 7> kSupportedVersions = {
    "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};

// What vmip assumes when it knows nothing better (VERSION without input, errors
// raised before the config was understood).
inline constexpr const char* kCurrentVersion = "1.1.0";

// What a config without "cniVersion" means (CFG-10, like the reference DecodeVersion).
inline constexpr const char* kImplicitVersion = "0.1.0";

bool IsSupportedVersion(const std::string& v);

// Both versions must be supported ones; ordering is the spec's release order.
bool VersionAtLeast(const std::string& v, const char* min);

// Code 1 with skel's details text when v is not spoken here.
CniError CheckSupported(const std::string& v);

// Code 1 when the config version predates the command (CHECK < 0.4.0, GC/STATUS < 1.1.0).
CniError CheckCommandAllowed(Command cmd, const std::string& v);

// Before 0.3.0 a result holds one address per family; more range sets of one family
// than that cannot be answered, so ADD fails up front with code 7 (like host-local).
CniError CheckAddressesPerFamily(const std::string& v, const vmip::v1::PoolConfig& pool);

// "4" or "6" for an address or CIDR string; IPv6 is recognised by its ':'.
const char* AddressFamily(const std::string& address);

}  // namespace vmip::cni
