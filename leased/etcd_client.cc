#include "etcd_client.h"

#include "decision_log.h"

namespace vmip {
namespace {

// "http://127.0.0.1:2379,..." -> "ipv4:127.0.0.1:2379,..." for gRPC's resolver.
Result<std::string> Target(const std::vector<std::string>& endpoints) {
  std::string hosts;
  for (std::string e : endpoints) {
    if (e.rfind("http://", 0) == 0)
      e = e.substr(7);
    else if (e.find("://") != std::string::npos)
      return MakeError(kInvalidConfig, "etcd endpoint " + e + ": only http:// is supported");
    if (e.empty() || e.find('/') != std::string::npos)
      return MakeError(kInvalidConfig, "bad etcd endpoint \"" + e + "\"");
    hosts += (hosts.empty() ? "" : ",") + e;
  }
  if (hosts.empty()) return MakeError(kInvalidConfig, "no etcd endpoints");
  return (hosts.find('[') == std::string::npos ? "ipv4:" : "ipv6:") + hosts;
}

}  // namespace

std::string EtcdClient::PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  for (int i = static_cast<int>(end.size()) - 1; i >= 0; i--) {
    if (static_cast<unsigned char>(end[i]) < 0xff) {
      end[i] = static_cast<char>(end[i] + 1);
      end.resize(i + 1);
      return end;
    }
  }
  return std::string(1, '\0');  // every key
}

Result<std::unique_ptr<EtcdClient>> EtcdClient::Connect(const EtcdOptions& options) {
  auto target = Target(options.endpoints);
  if (!target.ok()) return target.error();
  std::unique_ptr<EtcdClient> c(new EtcdClient(options));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetLoadBalancingPolicyName("round_robin");  // a dead member does not stall us
  c->channel_ = grpc::CreateCustomChannel(target.value(), grpc::InsecureChannelCredentials(), args);
  c->kv_ = etcdserverpb::KV::NewStub(c->channel_);
  c->leases_ = etcdserverpb::Lease::NewStub(c->channel_);
  return c;
}

EtcdClient::~EtcdClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (keepalive_.joinable()) keepalive_.join();
}

std::unique_ptr<grpc::ClientContext> EtcdClient::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(options_.call_timeout_ms));
  return ctx;
}

Error EtcdClient::Failed(const std::string& what, const grpc::Status& s) const {
  return MakeError(kTryAgainLater, "etcd " + what + " failed: " + s.error_message());
}

Result<etcdserverpb::RangeResponse> EtcdClient::Range(const std::string& key, bool prefix) {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  if (prefix) req.set_range_end(PrefixEnd(key));
  etcdserverpb::RangeResponse resp;
  grpc::Status s = kv_->Range(Context().get(), req, &resp);
  if (!s.ok()) return Failed("range " + key, s);
  return resp;
}

Result<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& req) {
  etcdserverpb::TxnResponse resp;
  grpc::Status s = kv_->Txn(Context().get(), req, &resp);
  if (!s.ok()) return Failed("txn", s);
  return resp;
}

Error EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  etcdserverpb::PutResponse resp;
  grpc::Status s = kv_->Put(Context().get(), req, &resp);
  return s.ok() ? Error{} : Failed("put " + key, s);
}

Error EtcdClient::Delete(const std::string& key) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  grpc::Status s = kv_->DeleteRange(Context().get(), req, &resp);
  return s.ok() ? Error{} : Failed("delete " + key, s);
}

Result<int64_t> EtcdClient::Grant() {
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(options_.lease_ttl_seconds);
  etcdserverpb::LeaseGrantResponse resp;
  grpc::Status s = leases_->LeaseGrant(Context().get(), req, &resp);
  if (!s.ok()) return Failed("lease grant", s);
  if (!resp.error().empty()) return MakeError(kTryAgainLater, "etcd lease grant: " + resp.error());
  return resp.id();
}

Error EtcdClient::StartLease(LeaseRenewed on_renewed) {
  auto id = Grant();
  if (!id.ok()) return id.error();
  lease_ = id.value();
  on_renewed_ = std::move(on_renewed);
  keepalive_ = std::thread([this] { KeepAliveLoop(); });
  return Error{};
}

// One keepalive round trip on a fresh stream; false when the lease is gone or
// etcd did not answer in time.
bool EtcdClient::KeepAliveOnce(int64_t id) {
  auto ctx = Context();
  auto stream = leases_->LeaseKeepAlive(ctx.get());
  etcdserverpb::LeaseKeepAliveRequest req;
  req.set_id(id);
  etcdserverpb::LeaseKeepAliveResponse resp;
  bool ok = stream->Write(req) && stream->Read(&resp) && resp.ttl() > 0;
  stream->WritesDone();
  ctx->TryCancel();
  stream->Finish();
  return ok;
}

// Refreshes the lease at a third of its TTL. A lease that expired (partition,
// etcd outage) is replaced and the owner re-puts its keys under the new one.
void EtcdClient::KeepAliveLoop() {
  auto period = std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 / 3);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    if (!KeepAliveOnce(lease_)) {
      Log(LogLevel::kWarn, "op=etcd-lease msg=\"keepalive failed; granting a new lease\"");
      auto id = Grant();
      if (id.ok()) {
        lease_ = id.value();
        if (on_renewed_) on_renewed_(id.value());
      }
    }
    lock.lock();
  }
}

}  // namespace vmip
