// What vmip prints on stdout: ADD results in the shape of the requested cniVersion
// (checklist RES-1..RES-5, ADD-1, ADD-2), error objects (ERR-1) and the VERSION answer
// (VER-1, VER-2).
//
// Shapes, like the reference types packages:
// - 1.0.0/1.1.0: {"cniVersion","ips":[{"address","gateway"?}],"routes"?,"dns"}; route fields
//   mtu/advmss/priority/table/scope only in 1.1.0 and only when the config set them.
// - 0.3.0/0.3.1/0.4.0: the same plus "version":"4"|"6" in each ips[] entry.
// - 0.1.0/0.2.0: {"cniVersion","ip4":{"ip","gateway"?,"routes"?},"ip6":{...},"dns"}, the first
//   address of each family, routes attached by destination family.
// - "dns" is always present (possibly {}), as host-local prints it; no "interfaces" (RES-3).
#pragma once

#include <string>

#include "cni_error.h"
#include "vmip.pb.h"

namespace vmip::cni {

// Fails (code 999) only when a 0.1.0/0.2.0 result would hold no address at all.
CniError FormatAddResult(const std::string& version, const vmip::v1::AddReply& reply,
                         std::string* out);

// {"cniVersion":V,"code":N,"msg":"...","details":"..."?} plus a newline.
std::string FormatError(const std::string& version, const CniError& err);

// {"cniVersion":V,"supportedVersions":[...]} plus a newline.
std::string FormatVersionInfo(const std::string& version);

// The ENV-9 text printed to stderr when CNI_COMMAND is unset.
std::string AboutText();

}  // namespace vmip::cni
