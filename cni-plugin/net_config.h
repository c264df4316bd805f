// The network configuration from stdin, validated and converted (checklist CFG-*).
//
// vmip receives the whole config of the calling plugin (CFG-3); it reads the keys it
// needs and ignores the rest (capabilities, cniVersions, unknown keys are fine).
// Only structure is checked here (JSON types, required keys); whether a subnet or an
// address makes sense is the daemon's call.
//
// Choices:
// - JSON null counts as "absent" (like Go's decoder).
// - The pool ("ipam" ranges/routes/dns/exclude) is required and converted only for
//   ADD, CHECK and STATUS. DEL and GC need just the name and ipam.socket/spoolDir, so
//   a NetworkAttachmentDefinition edited into an invalid pool can never block pod
//   deletion (DEL-5).
// - GC without either attachment key is refused (code 7): an absent list would
//   otherwise mean "drop every attachment of this network". An explicit null or []
//   is an empty list.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cni_env.h"
#include "cni_error.h"
#include "vmip.pb.h"

namespace vmip::cni {

inline constexpr size_t kMaxStdinBytes = 1 << 20;  // 1 MiB
inline constexpr const char* kDefaultSocket = "/run/vmip/leased.sock";
inline constexpr const char* kDefaultSpoolDir = "/var/lib/vmip/spool";

struct NetConfig {
  std::string cni_version;
  std::string name;
  vmip::v1::PoolConfig pool;  // ADD, CHECK, STATUS only
  std::string socket = kDefaultSocket;
  std::string spool_dir = kDefaultSpoolDir;

  // args.cni.* (Multus "cni-args") and runtimeConfig (capability "ips").
  std::optional<std::vector<std::string>> args_ips;
  std::vector<std::string> runtime_ips;
  std::optional<std::string> args_vm;
  std::optional<std::string> args_reservation;

  std::vector<std::string> prev_result_ips;                // CHECK: addresses, no prefix
  std::vector<vmip::v1::AttachmentRef> valid_attachments;  // GC
};

// Reads all of fd up to kMaxStdinBytes; more is code 5, as is a read error.
CniError ReadConfigBytes(int fd, std::string* out);

// Decodes and validates bytes for cmd: code 6 (not a JSON object), 1 (version), 7 (config).
CniError ParseNetConfig(const std::string& bytes, Command cmd, NetConfig* out);

// The config's cniVersion if it is a supported one, else kCurrentVersion; never fails.
// Used for VERSION and to label errors raised before the config was parsed.
std::string PeekCniVersion(const std::string& bytes);

}  // namespace vmip::cni
