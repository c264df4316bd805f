// An in-memory ClusterStore for unit tests. One FakeClusterBackend is the shared
// "cluster"; StoreFor(node) gives each node its own view of it, as each daemon has its
// own etcd client. The backend keeps etcd's model, small enough to read at a glance:
// one global revision that every successful write advances, each key's mod revision,
// and an absent key reading as revision 0. Watch callbacks run synchronously on the
// writing thread, after the backend's mutex is released.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster_store.h"

namespace vmip {

class FakeClusterBackend {
 public:
  std::unique_ptr<ClusterStore> StoreFor(const std::string& node, const std::string& peer_address);

 private:
  friend class FakeClusterStore;
  struct Attached {
    std::string node, owner, token;
    int64_t mod_revision = 0;
  };
  using Watcher = std::function<void(const AddressChange&)>;

  // Keys are "<network>/<rest>", so one network is one key prefix, as in etcd.
  static std::string Key(const std::string& network, const std::string& rest) {
    return network + "/" + rest;
  }
  int64_t OwnerRevision(const std::string& key) const;     // 0: not bound
  void Notify(const std::vector<AddressChange>& changes);  // call without mu_

  std::mutex mu_;
  int64_t revision_ = 1;                          // etcd starts at 1 too
  std::map<std::string, ClusterBinding> owners_;  // binding.revision = its mod revision
  std::map<std::string, std::string> addrs_;      // -> owner
  std::map<std::string, Attached> attachments_;
  std::map<std::string, std::string> nodes_;  // -> peer address
  std::map<int, Watcher> watchers_;
  int next_watcher_ = 0;
};

}  // namespace vmip
