// The one list of error codes, shared by the plugin and the daemon: CNI's well-known
// codes (spec 1.1.0 "Error" table, 0-99 reserved) and vmip's own (100+). The plugin
// prints them as the CNI error "code"; the daemon sends them in every reply.
#pragma once

namespace vmip {

enum ErrorCode : unsigned {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnv = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,  // STATUS only
  kPoolExhausted = 100,
  kAddressHeld = 101,
  kAddressOutsidePool = 102,
  kBoundOutsidePool = 103,
  kUnknownReservation = 104,
  kNoLease = 105,
  kLeaseMismatch = 106,
  kLeaseAttached = 108,  // vmipctl release of a VM that is still attached
  kInternal = 999,       // same meaning as Go's types.ErrInternal
};

}  // namespace vmip
