// The DEL spool: when vmip-leased cannot be reached, DEL records its request here and
// still succeeds, so a dead daemon never blocks pod deletion (DEL-4). The daemon
// replays every *.pb file of the directory at start.
//
// Record format: one vmip.v1.DelRequest, binary protobuf, in
// <dir>/del-<network>-<containerid>-<ifname>.pb, each part escaped so that '-' only
// separates (a repeated DEL overwrites its own record). Written crash-safely: temp file
// in the same directory (not *.pb, so never replayed half-written), fsync, close,
// rename, fsync of the directory; any of them failing is an error, not a record.
#pragma once

#include <string>

#include "cni_error.h"
#include "vmip.pb.h"

namespace vmip::cni {

// Longest record name used as is (file systems allow 255 bytes); a longer one is
// replaced by a unique "del-~XXXXXX.pb".
inline constexpr size_t kMaxSpoolName = 240;

// "del-<network>-<containerid>-<ifname>.pb", each part with '-' and every byte outside
// [A-Za-z0-9._] written as %XX: "vm-net" -> "vm%2Dnet".
std::string SpoolFileName(const vmip::v1::DelRequest& req);

// Creates dir (mode 0700, with parents) if needed and writes the record; on success
// *path is the final file. Failure is code 5 with the reason.
CniError SpoolDel(const std::string& dir, const vmip::v1::DelRequest& req, std::string* path);

}  // namespace vmip::cni
