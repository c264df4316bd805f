// Replays the DEL records the plugin spooled while the daemon was unreachable.
#pragma once

#include <cstdint>
#include <string>

#include "lease_service.h"

namespace vmip {

// Applies every spool_dir/*.pb DelRequest, then removes the file. A record that
// cannot be parsed is renamed to *.bad so it is kept for an operator, not retried; one
// that cannot be read (I/O error) is kept as is. Every failed read, rename, unlink or
// directory fsync is logged at error level.
// Returns the number of records applied.
// quiet: log only when something was replayed (the periodic rescan).
uint64_t ReplaySpool(const std::string& spool_dir, LeaseService& service, bool quiet = false);

}  // namespace vmip
