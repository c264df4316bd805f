// An error as a value: the CNI code, a one-line message and optional details.
// Every module returns these instead of throwing, so main() alone decides what
// reaches stdout and which exit code the runtime sees.
#pragma once

#include <cstdint>
#include <string>

#include "error_codes.h"

namespace vmip::cni {

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
