// Kubernetes mode: where the deletion releaser (kubernetes/) takes the owners it judges
// from and where its verdict "this owner, with this UID, is gone" goes. Standalone the
// daemon judges its own leases and releases them at once (LocalGoneOwnerBoard below).
// In cluster mode one elected daemon judges the owners every node holds and publishes
// its verdicts in etcd, where each node releases its own leases (cluster/).
#pragma once

#include <string>
#include <tuple>
#include <vector>

#include "error.h"
#include "event_kind.h"
#include "owner.h"

namespace vmip {

class LeaseService;

// An owner Kubernetes names (a VM, or a StatefulSet pod) with the UID a lease stored.
struct OwnerUid {
  std::string kind;  // "vm" or "sts" (OwnerKindName)
  std::string owner, uid;
  bool operator<(const OwnerUid& o) const {
    return std::tie(kind, owner, uid) < std::tie(o.kind, o.owner, o.uid);
  }
  bool operator==(const OwnerUid& o) const {
    return kind == o.kind && owner == o.owner && uid == o.uid;
  }
};

class GoneOwnerBoard {
 public:
  virtual ~GoneOwnerBoard() = default;
  // Only the daemon that leads judges (standalone: always).
  virtual bool leading() = 0;
  // Who judges ("" when unknown), for vmipctl status.
  virtual std::string leader() = 0;
  // The owners with a stored UID that some lease (on some node) still holds and that
  // no verdict covers yet.
  virtual Result<std::vector<OwnerUid>> Candidates() = 0;
  // The owner is gone, for `reason`: release (standalone) or publish (cluster).
  virtual Error OwnerGone(const OwnerUid& owner, EventKind reason) = 0;
};

// A standalone daemon: its own leases, released directly.
class LocalGoneOwnerBoard final : public GoneOwnerBoard {
 public:
  explicit LocalGoneOwnerBoard(LeaseService* service) : service_(service) {}
  bool leading() override { return true; }
  std::string leader() override;
  Result<std::vector<OwnerUid>> Candidates() override;
  Error OwnerGone(const OwnerUid& owner, EventKind reason) override;

 private:
  LeaseService* service_;
};

}  // namespace vmip
