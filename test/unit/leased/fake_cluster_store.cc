#include "fake_cluster_store.h"

#include <vector>

namespace vmip {

// One node's view of the shared backend: every call takes the backend's mutex, so
// each call is one atomic step, like one etcd transaction.
class FakeClusterStore final : public ClusterStore {
 public:
  FakeClusterStore(FakeClusterBackend* backend, std::string node)
      : b_(backend), node_(std::move(node)) {}
  ~FakeClusterStore() override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    for (int id : my_watchers_) b_->watchers_.erase(id);
  }

  Result<std::optional<ClusterBinding>> FindBinding(const std::string& network,
                                                    const std::string& owner) override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    auto it = b_->owners_.find(FakeClusterBackend::Key(network, owner));
    if (it == b_->owners_.end()) return std::optional<ClusterBinding>{};
    return std::optional<ClusterBinding>{it->second};
  }

  Result<std::vector<OwnedBinding>> BindingsOf(const std::string& network,
                                               const std::string& owner_prefix) override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    std::vector<OwnedBinding> out;
    for (const auto& [key, binding] : b_->owners_) {
      auto [net, owner] = Split(key);
      if (!network.empty() && net != network) continue;
      if (owner.compare(0, owner_prefix.size(), owner_prefix) != 0) continue;
      out.push_back(OwnedBinding{net, owner, binding});
    }
    return out;
  }

  Result<ClaimResult> Claim(const std::string& network, const std::string& owner,
                            const ClusterBinding& want, const AttachmentClaim* attach) override {
    ClaimResult out;
    {
      std::lock_guard<std::mutex> lock(b_->mu_);
      auto it = b_->owners_.find(FakeClusterBackend::Key(network, owner));
      if (it != b_->owners_.end()) {
        out.existing = it->second;
        return out;
      }
      for (const auto& ip : want.ips)
        if (b_->addrs_.count(FakeClusterBackend::Key(network, ip))) {
          out.taken_ip = ip;
          return out;
        }
      out.claimed = true;
      out.revision = ++b_->revision_;
      b_->owners_[FakeClusterBackend::Key(network, owner)] = {want.ips, want.node, out.revision};
      for (const auto& ip : want.ips) b_->addrs_[FakeClusterBackend::Key(network, ip)] = owner;
      if (attach) PutAt(network, attach->attachment, owner, attach->token, out.revision);
    }
    b_->Notify(Changes(network, want.ips, true));
    return out;
  }

  Result<int64_t> TakeOver(const std::string& network, const std::string& owner,
                           const ClusterBinding& from) override {
    if (from.revision <= 0) return MakeError(kInternal, "no version of " + owner + " to take");
    std::lock_guard<std::mutex> lock(b_->mu_);
    std::string key = FakeClusterBackend::Key(network, owner);
    if (b_->OwnerRevision(key) != from.revision)
      return MakeError(kTryAgainLater, "the binding of " + owner + " changed");
    b_->owners_[key] = {from.ips, node_, ++b_->revision_};
    return b_->revision_;
  }

  Result<ReleaseOutcome> Release(const std::string& network, const std::string& owner,
                                 const std::vector<std::string>& ips, int64_t revision,
                                 int64_t attachments_seen_at) override {
    if (revision <= 0) return MakeError(kInternal, "no version of " + owner + " to release");
    {
      std::lock_guard<std::mutex> lock(b_->mu_);
      std::string key = FakeClusterBackend::Key(network, owner);
      auto it = b_->owners_.find(key);
      if (it == b_->owners_.end()) return ReleaseOutcome::kGone;
      if (it->second.revision != revision) return ReleaseOutcome::kChanged;
      for (const auto& ip : ips) {
        auto a = b_->addrs_.find(FakeClusterBackend::Key(network, ip));
        if (a == b_->addrs_.end() || a->second != owner) return ReleaseOutcome::kChanged;
      }
      if (attachments_seen_at > 0 && AttachedSince(network, attachments_seen_at))
        return ReleaseOutcome::kChanged;
      b_->owners_.erase(it);
      for (const auto& ip : ips) b_->addrs_.erase(FakeClusterBackend::Key(network, ip));
      ++b_->revision_;
    }
    b_->Notify(Changes(network, ips, false));
    return ReleaseOutcome::kReleased;
  }

  Result<bool> Attach(const std::string& network, const std::string& attachment,
                      const std::string& owner, const std::string& token,
                      int64_t binding_revision) override {
    if (binding_revision <= 0) return MakeError(kInternal, "no version of " + owner + " to join");
    std::lock_guard<std::mutex> lock(b_->mu_);
    if (b_->OwnerRevision(FakeClusterBackend::Key(network, owner)) != binding_revision)
      return false;
    Put(network, attachment, owner, token);
    return true;
  }

  Error Reattach(const std::string& network, const std::string& attachment,
                 const std::string& owner, const std::string& token) override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    Put(network, attachment, owner, token);
    return Error{};
  }

  // An empty owner is a detach queued before attachments had tokens: this node's only.
  Error Detach(const std::string& network, const std::string& attachment, const std::string& owner,
               const std::string& token) override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    auto it = b_->attachments_.find(FakeClusterBackend::Key(network, attachment));
    if (it == b_->attachments_.end() || it->second.node != node_) return Error{};
    if (!owner.empty() && (it->second.owner != owner || it->second.token != token)) return Error{};
    b_->attachments_.erase(it);
    ++b_->revision_;
    return Error{};
  }

  Result<ClusterAttachments> Attachments(const std::string& network) override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    ClusterAttachments out;
    out.revision = b_->revision_;
    for (const auto& [key, a] : b_->attachments_) {
      auto [net, attachment] = Split(key);
      if (network.empty() || net == network)
        out.list.push_back(ClusterAttachment{net, attachment, a.node, a.owner});
    }
    return out;
  }

  Result<std::vector<std::string>> BoundAddresses(const std::string& network) override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    std::vector<std::string> out;
    for (const auto& [key, owner] : b_->addrs_) {
      auto [net, ip] = Split(key);
      if (network.empty())
        out.push_back(key);
      else if (net == network)
        out.push_back(ip);
    }
    return out;
  }

  void WatchAddresses(std::function<void(const AddressChange&)> fn,
                      std::function<void()> resync) override {
    {
      std::lock_guard<std::mutex> lock(b_->mu_);
      int id = b_->next_watcher_++;
      b_->watchers_[id] = std::move(fn);
      my_watchers_.push_back(id);
    }
    resync();  // the watch starts now: the caller reads the whole state once
  }

  Result<std::map<std::string, std::string>> Nodes() override {
    std::lock_guard<std::mutex> lock(b_->mu_);
    return b_->nodes_;
  }

 private:
  static std::pair<std::string, std::string> Split(const std::string& key) {
    size_t slash = key.find('/');
    return {key.substr(0, slash), key.substr(slash + 1)};
  }
  static std::vector<AddressChange> Changes(const std::string& network,
                                            const std::vector<std::string>& ips, bool bound) {
    std::vector<AddressChange> out;
    for (const auto& ip : ips) out.push_back(AddressChange{network, ip, bound});
    return out;
  }
  // Caller holds mu_.
  bool AttachedSince(const std::string& network, int64_t seen) const {
    for (const auto& [key, a] : b_->attachments_)
      if (Split(key).first == network && a.mod_revision > seen) return true;
    return false;
  }
  void Put(const std::string& network, const std::string& attachment, const std::string& owner,
           const std::string& token) {
    PutAt(network, attachment, owner, token, ++b_->revision_);
  }
  // At a given revision: a claim's attachment shares the claim's (one etcd Txn).
  void PutAt(const std::string& network, const std::string& attachment, const std::string& owner,
             const std::string& token, int64_t revision) {
    b_->attachments_[FakeClusterBackend::Key(network, attachment)] = {node_, owner, token,
                                                                      revision};
  }

  FakeClusterBackend* b_;
  std::string node_;
  std::vector<int> my_watchers_;
};

std::unique_ptr<ClusterStore> FakeClusterBackend::StoreFor(const std::string& node,
                                                           const std::string& peer_address) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    nodes_[node] = peer_address;
  }
  return std::make_unique<FakeClusterStore>(this, node);
}

int64_t FakeClusterBackend::OwnerRevision(const std::string& key) const {
  auto it = owners_.find(key);
  return it == owners_.end() ? 0 : it->second.revision;
}

void FakeClusterBackend::Notify(const std::vector<AddressChange>& changes) {
  std::vector<Watcher> watchers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, w] : watchers_) watchers.push_back(w);
  }
  for (const auto& change : changes)
    for (const auto& w : watchers) w(change);
}

}  // namespace vmip
