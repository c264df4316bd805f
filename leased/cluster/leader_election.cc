#include "leader_election.h"

#include "decision_log.h"

namespace vmip {

using etcdserverpb::Compare;

void LeaderElection::Campaign() {
  int64_t lease = etcd_->lease();
  etcdserverpb::TxnRequest txn;
  Compare* absent = txn.add_compare();
  absent->set_key(key_);
  absent->set_target(Compare::CREATE);
  absent->set_result(Compare::EQUAL);
  absent->set_create_revision(0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key_);
  put->set_value(node_);
  put->set_lease(lease);
  txn.add_failure()->mutable_request_range()->set_key(key_);
  auto r = etcd_->Txn(txn);
  std::string holder;
  bool ours = false;
  if (r.ok() && r.value().succeeded()) {
    holder = node_;
    ours = true;
  } else if (r.ok() && !r.value().responses(0).response_range().kvs().empty()) {
    const auto& kv = r.value().responses(0).response_range().kvs(0);
    holder = kv.value();
    // Ours under a lease we no longer keep alive (replaced after a keep-alive
    // failure) is not ours: that key goes when the old lease expires.
    ours = holder == node_ && kv.lease() == etcd_->lease();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!r.ok()) {  // unknown: act as not leading until etcd answers again
    if (elected_)
      Log(LogLevel::kWarn,
          "op=election" + Field("key", key_) + " state=unknown msg=\"" + r.error().msg + "\"");
    elected_ = false;
    leader_.clear();
    return;
  }
  if (ours != elected_ || holder != leader_)
    Log(LogLevel::kInfo, "op=election" + Field("key", key_) + Field("leader", holder) +
                             Field("leading", ours ? "yes" : "no"));
  elected_ = ours;
  leader_ = holder;
}

bool LeaderElection::leading() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!elected_) return false;
  }
  return EtcdClient::SteadyMs() < etcd_->lease_alive_until_ms() - margin_ms_;
}

std::string LeaderElection::leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

void LeaderElection::RequireLeading(etcdserverpb::TxnRequest* txn) const {
  Compare* holder = txn->add_compare();
  holder->set_key(key_);
  holder->set_target(Compare::VALUE);
  holder->set_result(Compare::EQUAL);
  holder->set_value(node_);
  Compare* lease = txn->add_compare();
  lease->set_key(key_);
  lease->set_target(Compare::LEASE);
  lease->set_result(Compare::EQUAL);
  lease->set_lease(etcd_->lease());
}

}  // namespace vmip
