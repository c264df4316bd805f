// The DEL spool: when vmip-leased cannot be reached, DEL records its request here and
// still succeeds, so a dead daemon never blocks pod deletion (DEL-4). The daemon
// replays every *.pb file of the directory at start.
//
// Record format: one vmip.v1.DelRequest, binary protobuf, in
// <dir>/del-<network>-<containerid>-<ifname>.pb (a repeated DEL overwrites its own
// record). Written crash-safely: temp file in the same directory (not *.pb, so never
// replayed half-written), fsync, rename, fsync of the directory.
#pragma once

#include <string>

#include "cni_error.h"
#include "vmip.pb.h"

namespace vmip::cni {

// "del-<network>-<containerid>-<ifname>.pb"
std::string SpoolFileName(const vmip::v1::DelRequest& req);

// Creates dir (mode 0700, with parents) if needed and writes the record; on success
// *path is the final file. Failure is code 5 with the reason.
CniError SpoolDel(const std::string& dir, const vmip::v1::DelRequest& req, std::string* path);

}  // namespace vmip::cni
