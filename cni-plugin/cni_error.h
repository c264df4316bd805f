// An error as a value: the CNI code, a one-line message and optional details.
// Every module returns these instead of throwing, so main() alone decides what
// reaches stdout and which exit code the runtime sees.
#pragma once

#include <cstdint>
#include <string>

namespace vmip::cni {

// Well-known CNI codes (spec 1.1.0 "Error" table) plus the ones the reference
// library uses outside the spec.
inline constexpr uint32_t kErrIncompatibleVersion = 1;
inline constexpr uint32_t kErrUnsupportedField = 2;
inline constexpr uint32_t kErrUnknownContainer = 3;
inline constexpr uint32_t kErrInvalidEnv = 4;
inline constexpr uint32_t kErrIo = 5;
inline constexpr uint32_t kErrDecode = 6;
inline constexpr uint32_t kErrInvalidConfig = 7;
inline constexpr uint32_t kErrTryAgainLater = 11;
inline constexpr uint32_t kErrNotAvailable = 50;  // STATUS only
inline constexpr uint32_t kErrInternal = 999;     // same meaning as Go's types.ErrInternal

struct CniError {
  uint32_t code = 0;  // 0 means "no error"
  std::string msg;
  std::string details;

  bool ok() const { return code == 0; }
  static CniError Ok() { return {}; }
};

inline CniError MakeError(uint32_t code, std::string msg, std::string details = "") {
  return CniError{code, std::move(msg), std::move(details)};
}

}  // namespace vmip::cni
