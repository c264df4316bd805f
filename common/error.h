// Errors are values: a CNI code (1-11 well-known, 100+ vmip) and a human message.
// Nothing in the daemon throws across the gRPC seam; functions return these.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "error_codes.h"

namespace vmip {

struct Error {
  unsigned code = 0;
  std::string msg;
  std::string details;
};

// A value or an error. Small on purpose: just enough for the daemon's needs.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(Error error) : error_(std::move(error)) {}
  bool ok() const { return !error_.has_value(); }
  const T& value() const { return *value_; }
  T& value() { return *value_; }
  const Error& error() const { return *error_; }

 private:
  std::optional<T> value_;
  std::optional<Error> error_;
};

inline Error MakeError(unsigned code, std::string msg, std::string details = "") {
  return Error{code, std::move(msg), std::move(details)};
}

}  // namespace vmip
