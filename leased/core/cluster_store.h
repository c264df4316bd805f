// The cluster authority for which owner holds which address across nodes. etcd is
// the implementation today (etcd_cluster_store.h); a Kubernetes-API store can be a
// second one. Keys are opaque strings built by the caller:
//   owner      "<kind>:<owner>#<ifname>", e.g. "vm:default/vm1#eth0"
//   attachment "<container id>#<ifname>"
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "error.h"

namespace vmip {

struct ClusterBinding {
  std::vector<std::string> ips;  // in range-set order
  std::string node;              // where it was first bound
};

struct ClaimResult {
  bool claimed = false;                    // the addresses are now this owner's
  std::optional<ClusterBinding> existing;  // the owner was bound already (maybe elsewhere)
  std::string taken_ip;                    // else: an address another owner holds
};

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // Every call is a quorum operation; failure to reach quorum is code 11.
  virtual Result<std::optional<ClusterBinding>> FindBinding(const std::string& network,
                                                            const std::string& owner) = 0;
  // Binds `want` to owner in one compare-and-swap: only if the owner and every
  // address are unbound. Otherwise says why.
  virtual Result<ClaimResult> Claim(const std::string& network, const std::string& owner,
                                    const ClusterBinding& want) = 0;
  // Unbinds owner and those of its addresses that still name it.
  virtual Error Release(const std::string& network, const std::string& owner,
                        const std::vector<std::string>& ips) = 0;
  // Attachments live as long as this node's liveness lease.
  virtual Error Attach(const std::string& network, const std::string& attachment,
                       const std::string& owner) = 0;
  virtual Error Detach(const std::string& network, const std::string& attachment) = 0;
  // Every address bound on the network, by any node.
  virtual Result<std::vector<std::string>> BoundAddresses(const std::string& network) = 0;
  // Live nodes and the peer addresses they advertise.
  virtual Result<std::map<std::string, std::string>> Nodes() = 0;
};

}  // namespace vmip
