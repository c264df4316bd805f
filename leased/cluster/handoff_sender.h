// Where hand-off notices go: when this node adopts a binding another node made, that
// node is told so its history shows the move. The peer directory (rpc/) implements
// it in cluster mode; the core only needs to send, not to know how.
#pragma once

#include "vmip.pb.h"

namespace vmip {

class HandoffSender {
 public:
  virtual ~HandoffSender() = default;
  // Best effort: a lost notice only loses a history line.
  virtual void SendHandoff(const v1::HandoffNotice& notice) = 0;
};

}  // namespace vmip
