// One daemon of the cluster leads (Kubernetes mode: it judges which owners are gone).
// The leader holds one key under the cluster prefix, put with its etcd liveness lease
// by a transaction "create if absent"; the others try the same once a second and take
// over when the holder's lease expires (daemon killed, node cut off). A leader whose
// lease it could not renew stops leading before that lease could have expired at etcd,
// and every write it makes as leader is fenced by a compare on the key (RequireLeading).
#pragma once

#include <mutex>
#include <string>

#include "etcd_client.h"

namespace vmip {

class LeaderElection {
 public:
  // key: the election's etcd key; margin_ms: how long before the lease's last known
  // expiry the leader stops acting (clock drift between this node and etcd).
  LeaderElection(EtcdClient* etcd, std::string key, std::string node, int64_t margin_ms)
      : etcd_(etcd), key_(std::move(key)), node_(std::move(node)), margin_ms_(margin_ms) {}

  // One round: take the key if nobody holds it, learn who does. Once a second.
  void Campaign();
  // This daemon holds the key under its current lease, and the lease is surely alive.
  bool leading() const;
  // Who holds the key as of the last round ("" when nobody or unknown).
  std::string leader() const;
  const std::string& node() const { return node_; }
  // Adds compares to txn that hold only while this daemon holds the key under its
  // current lease: etcd refuses the write of a leader that lost its place.
  void RequireLeading(etcdserverpb::TxnRequest* txn) const;

 private:
  EtcdClient* etcd_;
  const std::string key_, node_;
  const int64_t margin_ms_;
  mutable std::mutex mu_;
  bool elected_ = false;  // the key is ours, under the lease we keep alive now
  std::string leader_;
};

}  // namespace vmip
