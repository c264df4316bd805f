// ClusterStore on etcd v3. Key layout under /vmip/v1/:
//   addr/<network>/<ip>              -> owner              (permanent)
//   owner/<network>/<owner>          -> "<node> <ip>[,<ip>]"  (permanent)
//   attach/<network>/<attachment>    -> "<node> <owner>"    (this node's lease)
//   node/<name>                      -> peer address        (this node's lease)
// A binding is created with one Txn that requires the owner key and every address
// key to be absent, so two nodes can never bind one address.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "cluster_store.h"
#include "etcd_client.h"

namespace vmip {

class EtcdClusterStore final : public ClusterStore {
 public:
  static Result<std::unique_ptr<EtcdClusterStore>> Start(const EtcdOptions& options,
                                                         const std::string& node,
                                                         const std::string& peer_address);

  Result<std::optional<ClusterBinding>> FindBinding(const std::string& network,
                                                    const std::string& owner) override;
  Result<ClaimResult> Claim(const std::string& network, const std::string& owner,
                            const ClusterBinding& want) override;
  Error Release(const std::string& network, const std::string& owner,
                const std::vector<std::string>& ips) override;
  Error Attach(const std::string& network, const std::string& attachment,
               const std::string& owner) override;
  Error Detach(const std::string& network, const std::string& attachment) override;
  Result<std::vector<std::string>> BoundAddresses(const std::string& network) override;
  Result<std::map<std::string, std::string>> Nodes() override;

 private:
  EtcdClusterStore(std::unique_ptr<EtcdClient> etcd, std::string node, std::string peer)
      : etcd_(std::move(etcd)), node_(std::move(node)), peer_(std::move(peer)) {}
  void PutLeasedKeys(int64_t lease);

  std::unique_ptr<EtcdClient> etcd_;
  std::string node_, peer_;
  std::mutex mu_;
  std::map<std::string, std::string> attached_;  // lease-bound keys we own -> value
};

// "<node> <ip>,<ip>" <-> ClusterBinding
std::string EncodeBinding(const ClusterBinding& b);
ClusterBinding DecodeBinding(const std::string& value);

}  // namespace vmip
