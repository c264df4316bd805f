// ClusterStore on etcd v3. Key layout under /vmip/v1/:
//   addr/<network>/<ip>              -> owner                    (permanent)
//   owner/<network>/<owner>          -> "<node> <ip>[,<ip>]"     (permanent)
//   attach/<network>/<attachment>    -> "<node> <owner> <token>" (this node's lease)
//   node/<name>                      -> peer address              (this node's lease)
// A binding is created with one Txn that requires the owner key and every address
// key to be absent, so two nodes can never bind one address; a new pod's attachment
// is put in that same Txn's success branch (one round trip for its ADD). A binding's version is
// the owner key's mod revision; every delete compares it (or the attachment's value)
// in the same Txn.
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

  // The client's threads (keepalive, watch) call into this object: stop them first.
  ~EtcdClusterStore() override { etcd_.reset(); }
  // The client, for other users of the same etcd session (the Kubernetes election).
  EtcdClient* etcd() { return etcd_.get(); }

  Result<std::optional<ClusterBinding>> FindBinding(const std::string& network,
                                                    const std::string& owner) override;
  Result<std::vector<OwnedBinding>> BindingsOf(const std::string& network,
                                               const std::string& owner_prefix) override;
  Result<ClaimResult> Claim(const std::string& network, const std::string& owner,
                            const ClusterBinding& want, const AttachmentClaim* attach) override;
  Result<int64_t> TakeOver(const std::string& network, const std::string& owner,
                           const ClusterBinding& from) override;
  Result<ReleaseOutcome> Release(const std::string& network, const std::string& owner,
                                 const std::vector<std::string>& ips, int64_t revision,
                                 int64_t attachments_seen_at) override;
  Result<bool> Attach(const std::string& network, const std::string& attachment,
                      const std::string& owner, const std::string& token,
                      int64_t binding_revision) override;
  Error Reattach(const std::string& network, const std::string& attachment,
                 const std::string& owner, const std::string& token) override;
  Error Detach(const std::string& network, const std::string& attachment, const std::string& owner,
               const std::string& token) override;
  Result<ClusterAttachments> Attachments(const std::string& network) override;
  Result<std::vector<std::string>> BoundAddresses(const std::string& network) override;
  void WatchAddresses(std::function<void(const AddressChange&)> fn,
                      std::function<void()> resync) override;
  Result<std::map<std::string, std::string>> Nodes() override;

 private:
  EtcdClusterStore(std::unique_ptr<EtcdClient> etcd, std::string node, std::string peer)
      : etcd_(std::move(etcd)), node_(std::move(node)), peer_(std::move(peer)) {}
  void PutLeasedKeys(int64_t lease);
  void Remember(const std::string& key, const std::string& value);
  // An attachment's key and value ("<node> <owner> <token>").
  std::pair<std::string, std::string> AttachmentKv(const std::string& network,
                                                   const std::string& attachment,
                                                   const std::string& owner,
                                                   const std::string& token) const;
  // A detach queued before attachments carried tokens: this node's key, as it is now.
  Error DetachUntokened(const std::string& key);

  std::unique_ptr<EtcdClient> etcd_;
  std::string node_, peer_;
  std::mutex mu_;
  std::map<std::string, std::string> attached_;  // lease-bound keys we own -> value
};

// "<node> <ip>,<ip>" <-> ClusterBinding
std::string EncodeBinding(const ClusterBinding& b);
ClusterBinding DecodeBinding(const std::string& value);

}  // namespace vmip
