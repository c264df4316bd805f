#include "etcd_cluster_store.h"

#include "decision_log.h"

namespace vmip {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::TxnRequest;

const std::string kRoot = "/vmip/v1/";

std::string AddrKey(const std::string& net, const std::string& ip) {
  return kRoot + "addr/" + net + "/" + ip;
}
std::string OwnerKey(const std::string& net, const std::string& owner) {
  return kRoot + "owner/" + net + "/" + owner;
}
std::string AttachKey(const std::string& net, const std::string& att) {
  return kRoot + "attach/" + net + "/" + att;
}
std::string NodeKey(const std::string& node) {
  return kRoot + "node/" + node;
}

// A compare that holds when key does not exist (its create revision is 0).
void RequireAbsent(TxnRequest* txn, const std::string& key) {
  Compare* c = txn->add_compare();
  c->set_key(key);
  c->set_target(Compare::CREATE);
  c->set_result(Compare::EQUAL);
  c->set_create_revision(0);
}

void RequireValue(TxnRequest* txn, const std::string& key, const std::string& value) {
  Compare* c = txn->add_compare();
  c->set_key(key);
  c->set_target(Compare::VALUE);
  c->set_result(Compare::EQUAL);
  c->set_value(value);
}

// Holds while key is exactly version `revision` (its mod revision).
void RequireRevision(TxnRequest* txn, const std::string& key, int64_t revision) {
  Compare* c = txn->add_compare();
  c->set_key(key);
  c->set_target(Compare::MOD);
  c->set_result(Compare::EQUAL);
  c->set_mod_revision(revision);
}

// Holds while no key under prefix was written after revision `seen`.
void RequireQuietSince(TxnRequest* txn, const std::string& prefix, int64_t seen) {
  Compare* c = txn->add_compare();
  c->set_key(prefix);
  c->set_range_end(EtcdClient::PrefixEnd(prefix));
  c->set_target(Compare::MOD);
  c->set_result(Compare::LESS);
  c->set_mod_revision(seen + 1);
}

// "<what>/<network>/<rest>" after the root: network and rest.
std::pair<std::string, std::string> SplitKey(const std::string& key, const std::string& what) {
  std::string tail = key.substr(kRoot.size() + what.size() + 1);
  size_t slash = tail.find('/');
  if (slash == std::string::npos) return {"", tail};
  return {tail.substr(0, slash), tail.substr(slash + 1)};
}

std::string Prefix(const std::string& what, const std::string& network) {
  return kRoot + what + "/" + (network.empty() ? "" : network + "/");
}

void AddPut(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
            const std::string& key, const std::string& value) {
  auto* put = ops->Add()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
}

// A put that lives as long as this node's liveness lease.
void AddLeasedPut(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
                  const std::string& key, const std::string& value, int64_t lease) {
  auto* put = ops->Add()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
}

void AddGet(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
            const std::string& key) {
  ops->Add()->mutable_request_range()->set_key(key);
}

void AddDelete(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
               const std::string& key) {
  ops->Add()->mutable_request_delete_range()->set_key(key);
}

}  // namespace

std::string EncodeBinding(const ClusterBinding& b) {
  std::string ips;
  for (const auto& ip : b.ips) ips += (ips.empty() ? "" : ",") + ip;
  return b.node + " " + ips;
}

ClusterBinding DecodeBinding(const std::string& value) {
  ClusterBinding b;
  size_t space = value.find(' ');
  b.node = value.substr(0, space);
  std::string ips = space == std::string::npos ? "" : value.substr(space + 1);
  size_t start = 0;
  while (start < ips.size()) {
    size_t comma = ips.find(',', start);
    if (comma == std::string::npos) comma = ips.size();
    b.ips.push_back(ips.substr(start, comma - start));
    start = comma + 1;
  }
  return b;
}

Result<std::unique_ptr<EtcdClusterStore>> EtcdClusterStore::Start(const EtcdOptions& options,
                                                                  const std::string& node,
                                                                  const std::string& peer_address) {
  auto etcd = EtcdClient::Connect(options);
  if (!etcd.ok()) return etcd.error();
  std::unique_ptr<EtcdClusterStore> store(
      new EtcdClusterStore(std::move(etcd.value()), node, peer_address));
  EtcdClusterStore* raw = store.get();
  Error e = raw->etcd_->StartLease([raw](int64_t lease) { raw->PutLeasedKeys(lease); });
  if (e.code) return e;
  raw->PutLeasedKeys(raw->etcd_->lease());
  return store;
}

// (Re)registers this node and its attachments under the current liveness lease.
void EtcdClusterStore::PutLeasedKeys(int64_t lease) {
  std::map<std::string, std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keys = attached_;
  }
  keys[NodeKey(node_)] = peer_;
  for (const auto& [key, value] : keys)
    if (Error e = etcd_->Put(key, value, lease); e.code)
      Log(LogLevel::kWarn, "op=etcd-register key=" + key + " msg=\"" + e.msg + "\"");
}

Result<std::optional<ClusterBinding>> EtcdClusterStore::FindBinding(const std::string& network,
                                                                    const std::string& owner) {
  auto r = etcd_->Range(OwnerKey(network, owner), false);
  if (!r.ok()) return r.error();
  if (r.value().kvs().empty()) return std::optional<ClusterBinding>{};
  ClusterBinding b = DecodeBinding(r.value().kvs(0).value());
  b.revision = r.value().kvs(0).mod_revision();
  return std::optional<ClusterBinding>{b};
}

Result<std::vector<OwnedBinding>> EtcdClusterStore::BindingsOf(const std::string& network,
                                                               const std::string& owner_prefix) {
  auto r = etcd_->Range(Prefix("owner", network) + (network.empty() ? "" : owner_prefix), true);
  if (!r.ok()) return r.error();
  std::vector<OwnedBinding> out;
  for (const auto& kv : r.value().kvs()) {
    auto [net, owner] = SplitKey(kv.key(), "owner");
    if (owner.compare(0, owner_prefix.size(), owner_prefix) != 0) continue;
    OwnedBinding b{net, owner, DecodeBinding(kv.value())};
    b.binding.revision = kv.mod_revision();
    out.push_back(b);
  }
  return out;
}

Result<ClaimResult> EtcdClusterStore::Claim(const std::string& network, const std::string& owner,
                                            const ClusterBinding& want,
                                            const AttachmentClaim* attach) {
  TxnRequest txn;
  RequireAbsent(&txn, OwnerKey(network, owner));
  for (const auto& ip : want.ips) RequireAbsent(&txn, AddrKey(network, ip));
  AddPut(txn.mutable_success(), OwnerKey(network, owner), EncodeBinding(want));
  for (const auto& ip : want.ips) AddPut(txn.mutable_success(), AddrKey(network, ip), owner);
  std::pair<std::string, std::string> att;
  if (attach) {
    att = AttachmentKv(network, attach->attachment, owner, attach->token);
    AddLeasedPut(txn.mutable_success(), att.first, att.second, etcd_->lease());
  }
  AddGet(txn.mutable_failure(), OwnerKey(network, owner));
  for (const auto& ip : want.ips) AddGet(txn.mutable_failure(), AddrKey(network, ip));
  auto r = etcd_->Txn(txn);
  if (!r.ok()) return r.error();
  ClaimResult out;
  if (r.value().succeeded()) {
    if (attach) Remember(att.first, att.second);
    out.claimed = true;
    out.revision = r.value().header().revision();
    return out;
  }
  const auto& owner_kvs = r.value().responses(0).response_range().kvs();
  if (!owner_kvs.empty()) {
    out.existing = DecodeBinding(owner_kvs[0].value());
    out.existing->revision = owner_kvs[0].mod_revision();
    return out;
  }
  for (size_t i = 0; i < want.ips.size(); i++)
    if (!r.value().responses(static_cast<int>(i + 1)).response_range().kvs().empty()) {
      out.taken_ip = want.ips[i];
      break;
    }
  return out;
}

Result<int64_t> EtcdClusterStore::TakeOver(const std::string& network, const std::string& owner,
                                           const ClusterBinding& from) {
  // etcd reads a missing key's version as 0: "from version 0" would bind an owner
  // nobody bound. Only a version read from the store names a binding.
  if (from.revision <= 0)
    return MakeError(kInternal, "refusing to take over " + owner + " on network " + network +
                                    " without knowing which version of its binding to take");
  TxnRequest txn;
  RequireRevision(&txn, OwnerKey(network, owner), from.revision);
  AddPut(txn.mutable_success(), OwnerKey(network, owner), EncodeBinding({from.ips, node_, 0}));
  auto r = etcd_->Txn(txn);
  if (!r.ok()) return r.error();
  if (!r.value().succeeded())
    return MakeError(kTryAgainLater, "the cluster binding of " + owner + " on network " + network +
                                         " changed while this node was adopting it");
  return r.value().header().revision();
}

Result<ReleaseOutcome> EtcdClusterStore::Release(const std::string& network,
                                                 const std::string& owner,
                                                 const std::vector<std::string>& ips,
                                                 int64_t revision, int64_t attachments_seen_at) {
  if (revision <= 0)
    return MakeError(kInternal, "refusing to release " + owner + " on network " + network +
                                    " without knowing which version of its binding to release");
  TxnRequest txn;
  RequireRevision(&txn, OwnerKey(network, owner), revision);
  for (const auto& ip : ips) RequireValue(&txn, AddrKey(network, ip), owner);
  if (attachments_seen_at > 0)
    RequireQuietSince(&txn, Prefix("attach", network), attachments_seen_at);
  AddDelete(txn.mutable_success(), OwnerKey(network, owner));
  for (const auto& ip : ips) AddDelete(txn.mutable_success(), AddrKey(network, ip));
  AddGet(txn.mutable_failure(), OwnerKey(network, owner));
  auto r = etcd_->Txn(txn);
  if (!r.ok()) return r.error();
  if (r.value().succeeded()) return ReleaseOutcome::kReleased;
  if (r.value().responses(0).response_range().kvs().empty()) return ReleaseOutcome::kGone;
  return ReleaseOutcome::kChanged;
}

void EtcdClusterStore::Remember(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  attached_[key] = value;
}

std::pair<std::string, std::string> EtcdClusterStore::AttachmentKv(const std::string& network,
                                                                   const std::string& attachment,
                                                                   const std::string& owner,
                                                                   const std::string& token) const {
  return {AttachKey(network, attachment), node_ + " " + owner + " " + token};
}

Result<bool> EtcdClusterStore::Attach(const std::string& network, const std::string& attachment,
                                      const std::string& owner, const std::string& token,
                                      int64_t binding_revision) {
  if (binding_revision <= 0)  // see TakeOver: version 0 would match an unbound owner
    return MakeError(kInternal, "refusing to attach to " + owner + " on network " + network +
                                    " without knowing which version of its binding it joins");
  auto [key, value] = AttachmentKv(network, attachment, owner, token);
  TxnRequest txn;
  RequireRevision(&txn, OwnerKey(network, owner), binding_revision);
  AddLeasedPut(txn.mutable_success(), key, value, etcd_->lease());
  auto r = etcd_->Txn(txn);
  if (!r.ok()) return r.error();
  if (!r.value().succeeded()) return false;
  Remember(key, value);
  return true;
}

Error EtcdClusterStore::Reattach(const std::string& network, const std::string& attachment,
                                 const std::string& owner, const std::string& token) {
  auto [key, value] = AttachmentKv(network, attachment, owner, token);
  Error e = etcd_->Put(key, value, etcd_->lease());
  if (!e.code) Remember(key, value);
  return e;
}

Error EtcdClusterStore::Detach(const std::string& network, const std::string& attachment,
                               const std::string& owner, const std::string& token) {
  if (owner.empty()) return DetachUntokened(AttachKey(network, attachment));
  auto [key, value] = AttachmentKv(network, attachment, owner, token);
  TxnRequest txn;
  RequireValue(&txn, key, value);
  AddDelete(txn.mutable_success(), key);
  auto r = etcd_->Txn(txn);
  if (!r.ok()) return r.error();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = attached_.find(key);
  if (it != attached_.end() && it->second == value) attached_.erase(it);
  return Error{};
}

Error EtcdClusterStore::DetachUntokened(const std::string& key) {
  auto r = etcd_->Range(key, false);
  if (!r.ok()) return r.error();
  if (r.value().kvs().empty()) return Error{};
  std::string value = r.value().kvs(0).value();
  if (value.compare(0, node_.size() + 1, node_ + " ") != 0) return Error{};  // not ours
  TxnRequest txn;
  RequireValue(&txn, key, value);
  AddDelete(txn.mutable_success(), key);
  auto t = etcd_->Txn(txn);
  if (!t.ok()) return t.error();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = attached_.find(key);
  if (it != attached_.end() && it->second == value) attached_.erase(it);
  return Error{};
}

Result<ClusterAttachments> EtcdClusterStore::Attachments(const std::string& network) {
  auto r = etcd_->Range(Prefix("attach", network), true);
  if (!r.ok()) return r.error();
  ClusterAttachments out;
  out.revision = r.value().header().revision();
  for (const auto& kv : r.value().kvs()) {
    auto [net, attachment] = SplitKey(kv.key(), "attach");
    const std::string& v = kv.value();
    size_t a = v.find(' '), b = a == std::string::npos ? a : v.find(' ', a + 1);
    std::string owner = a == std::string::npos ? "" : v.substr(a + 1, b - a - 1);
    out.list.push_back(ClusterAttachment{net, attachment, v.substr(0, a), owner});
  }
  return out;
}

Result<std::vector<std::string>> EtcdClusterStore::BoundAddresses(const std::string& network) {
  std::string prefix = Prefix("addr", network);
  auto r = etcd_->Range(prefix, true);
  if (!r.ok()) return r.error();
  std::vector<std::string> out;
  for (const auto& kv : r.value().kvs()) out.push_back(kv.key().substr(prefix.size()));
  return out;
}

void EtcdClusterStore::WatchAddresses(std::function<void(const AddressChange&)> fn,
                                      std::function<void()> resync) {
  etcd_->WatchPrefix(kRoot + "addr/", std::move(resync),
                     [fn](const etcdserverpb::WatchResponse& resp) {
                       for (const auto& ev : resp.events()) {
                         auto [net, ip] = SplitKey(ev.kv().key(), "addr");
                         fn(AddressChange{net, ip, ev.type() == etcdserverpb::Event::PUT});
                       }
                     });
}

Result<std::map<std::string, std::string>> EtcdClusterStore::Nodes() {
  std::string prefix = kRoot + "node/";
  auto r = etcd_->Range(prefix, true);
  if (!r.ok()) return r.error();
  std::map<std::string, std::string> out;
  for (const auto& kv : r.value().kvs()) out[kv.key().substr(prefix.size())] = kv.value();
  return out;
}

}  // namespace vmip
