// The cluster authority for which owner holds which address across nodes. etcd is
// the implementation today (etcd_cluster_store.h); a Kubernetes-API store can be a
// second one. Keys are opaque strings built by the caller:
//   owner      "<kind>:<owner>#<ifname>", e.g. "vm:default/vm1#eth0"
//   attachment "<container id>#<ifname>"
// Every destructive call names the version of what it means to delete (a revision
// or a token), so a stale node, a late outbox replay or a retried call never
// removes a newer binding or attachment.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "error.h"

namespace vmip {

struct ClusterBinding {
  std::vector<std::string> ips;  // in range-set order
  std::string node;              // the node that holds it now (bound or adopted it last)
  int64_t revision = 0;          // the store's version of this binding; 0 when unknown
};

// An attachment a claim registers in the same compare-and-swap as the binding it
// names (a new pod's ADD: one round trip), so it never exists without that binding.
struct AttachmentClaim {
  std::string attachment, token;
};

struct ClaimResult {
  bool claimed = false;                    // the addresses are now this owner's
  int64_t revision = 0;                    // the new binding's version, when claimed
  std::optional<ClusterBinding> existing;  // the owner was bound already (maybe elsewhere)
  std::string taken_ip;                    // else: an address another owner holds
};

// One owner's binding on one network, for cluster-wide admin actions.
struct OwnedBinding {
  std::string network, owner;
  ClusterBinding binding;
};

// A live attachment anywhere in the cluster.
struct ClusterAttachment {
  std::string network, attachment, node, owner;
};

struct ClusterAttachments {
  std::vector<ClusterAttachment> list;
  int64_t revision = 0;  // the store's state these were read at
};

enum class ReleaseOutcome {
  kReleased,  // the binding was this version and is gone now
  kGone,      // nothing was bound (already released: a retry)
  kChanged,   // a newer binding or a new attachment: nothing was deleted
};

// An address key changed on a network: bound (`bound`) or freed.
struct AddressChange {
  std::string network, ip;
  bool bound = false;
};

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // Every call is a quorum operation; failure to reach quorum is code 11.
  virtual Result<std::optional<ClusterBinding>> FindBinding(const std::string& network,
                                                            const std::string& owner) = 0;
  // Every binding on `network` ("" = every network) whose owner key starts with
  // `owner_prefix`.
  virtual Result<std::vector<OwnedBinding>> BindingsOf(const std::string& network,
                                                       const std::string& owner_prefix) = 0;
  // Binds `want` to owner in one compare-and-swap: only if the owner and every
  // address are unbound. Otherwise says why, and writes nothing. With `attach`
  // (may be null), the same compare-and-swap also registers that attachment of
  // owner, as Attach would: both are written, or neither.
  virtual Result<ClaimResult> Claim(const std::string& network, const std::string& owner,
                                    const ClusterBinding& want, const AttachmentClaim* attach) = 0;
  // Makes this node the binding's holder, only if it is still version `from`.
  // Returns the new version; kTryAgainLater if it changed meanwhile.
  virtual Result<int64_t> TakeOver(const std::string& network, const std::string& owner,
                                   const ClusterBinding& from) = 0;
  // Unbinds owner and its addresses, only if the binding is still version
  // `revision` and every address still names owner. With attachments_seen_at != 0,
  // also only if no attachment on the network appeared or changed after that
  // version (see Attachments()).
  virtual Result<ReleaseOutcome> Release(const std::string& network, const std::string& owner,
                                         const std::vector<std::string>& ips, int64_t revision,
                                         int64_t attachments_seen_at = 0) = 0;
  // Attachments live as long as this node's liveness lease. Attach writes only
  // while owner's binding is still version `binding_revision` (false: the binding
  // changed or is gone, nothing was written); `token` tells this attachment from an
  // older one with the same key.
  virtual Result<bool> Attach(const std::string& network, const std::string& attachment,
                              const std::string& owner, const std::string& token,
                              int64_t binding_revision) = 0;
  // Re-registers an attachment this node committed (start, lost lease): no check.
  virtual Error Reattach(const std::string& network, const std::string& attachment,
                         const std::string& owner, const std::string& token) = 0;
  // Removes the attachment only if it is still this owner's with this token.
  virtual Error Detach(const std::string& network, const std::string& attachment,
                       const std::string& owner, const std::string& token) = 0;
  // Every live attachment on `network` ("" = every network), by any node.
  virtual Result<ClusterAttachments> Attachments(const std::string& network) = 0;
  // Every address bound on the network, by any node.
  virtual Result<std::vector<std::string>> BoundAddresses(const std::string& network) = 0;
  // Calls `fn` (from a store thread) for each address bound or freed anywhere,
  // within about a second; `resync` when changes may have been missed (the caller
  // re-reads BoundAddresses).
  virtual void WatchAddresses(std::function<void(const AddressChange&)> fn,
                              std::function<void()> resync) = 0;
  // Live nodes and the peer addresses they advertise.
  virtual Result<std::map<std::string, std::string>> Nodes() = 0;
};

}  // namespace vmip
