// Every reply of the vmip.v1 services carries an `error` field; this fills it.
#pragma once

#include "error.h"

namespace vmip {

template <typename Reply>
Reply WithError(const Error& e) {
  Reply r;
  r.mutable_error()->set_code(e.code);
  r.mutable_error()->set_msg(e.msg);
  r.mutable_error()->set_details(e.details);
  return r;
}

}  // namespace vmip
