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

void AddPut(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops,
            const std::string& key, const std::string& value) {
  auto* put = ops->Add()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
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
  return std::optional<ClusterBinding>{DecodeBinding(r.value().kvs(0).value())};
}

Result<ClaimResult> EtcdClusterStore::Claim(const std::string& network, const std::string& owner,
                                            const ClusterBinding& want) {
  TxnRequest txn;
  RequireAbsent(&txn, OwnerKey(network, owner));
  for (const auto& ip : want.ips) RequireAbsent(&txn, AddrKey(network, ip));
  AddPut(txn.mutable_success(), OwnerKey(network, owner), EncodeBinding(want));
  for (const auto& ip : want.ips) AddPut(txn.mutable_success(), AddrKey(network, ip), owner);
  AddGet(txn.mutable_failure(), OwnerKey(network, owner));
  for (const auto& ip : want.ips) AddGet(txn.mutable_failure(), AddrKey(network, ip));
  auto r = etcd_->Txn(txn);
  if (!r.ok()) return r.error();
  ClaimResult out;
  if (r.value().succeeded()) {
    out.claimed = true;
    return out;
  }
  const auto& owner_kvs = r.value().responses(0).response_range().kvs();
  if (!owner_kvs.empty()) {
    out.existing = DecodeBinding(owner_kvs[0].value());
    return out;
  }
  for (size_t i = 0; i < want.ips.size(); i++)
    if (!r.value().responses(static_cast<int>(i + 1)).response_range().kvs().empty()) {
      out.taken_ip = want.ips[i];
      break;
    }
  return out;
}

Error EtcdClusterStore::Release(const std::string& network, const std::string& owner,
                                const std::vector<std::string>& ips) {
  // Each address key is deleted only while it still names this owner.
  for (const auto& ip : ips) {
    TxnRequest txn;
    RequireValue(&txn, AddrKey(network, ip), owner);
    AddDelete(txn.mutable_success(), AddrKey(network, ip));
    auto r = etcd_->Txn(txn);
    if (!r.ok()) return r.error();
  }
  return etcd_->Delete(OwnerKey(network, owner));
}

Error EtcdClusterStore::Attach(const std::string& network, const std::string& attachment,
                               const std::string& owner) {
  std::string key = AttachKey(network, attachment), value = node_ + " " + owner;
  Error e = etcd_->Put(key, value, etcd_->lease());
  if (e.code) return e;
  std::lock_guard<std::mutex> lock(mu_);
  attached_[key] = value;
  return Error{};
}

Error EtcdClusterStore::Detach(const std::string& network, const std::string& attachment) {
  std::string key = AttachKey(network, attachment);
  {
    std::lock_guard<std::mutex> lock(mu_);
    attached_.erase(key);
  }
  return etcd_->Delete(key);
}

Result<std::vector<std::string>> EtcdClusterStore::BoundAddresses(const std::string& network) {
  std::string prefix = kRoot + "addr/" + network + "/";
  auto r = etcd_->Range(prefix, true);
  if (!r.ok()) return r.error();
  std::vector<std::string> out;
  for (const auto& kv : r.value().kvs()) out.push_back(kv.key().substr(prefix.size()));
  return out;
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
