#include "etcd_client.h"

#include "decision_log.h"

namespace vmip {
namespace {

// "http://127.0.0.1:2379" -> "127.0.0.1:2379" for gRPC; https:// goes with --tls-*.
Result<std::string> Target(std::string e, bool tls) {
  std::string scheme = e.substr(0, e.find("://") == std::string::npos ? 0 : e.find("://") + 3);
  if (scheme != (tls ? "https://" : "http://"))
    return MakeError(kInvalidConfig,
                     "etcd endpoint \"" + e + "\": expected " +
                         (tls ? "https:// (TLS is on)" : "http:// (or https:// with --tls-*)"));
  e = e.substr(scheme.size());
  if (e.empty() || e.find('/') != std::string::npos)
    return MakeError(kInvalidConfig, "bad etcd endpoint \"" + e + "\"");
  return e;
}

bool Retryable(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// etcd answers a put under a lease that expired (an outage longer than its TTL)
// with NOT_FOUND "requested lease not found".
bool LeaseNotFound(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::NOT_FOUND &&
         s.error_message().find("lease not found") != std::string::npos;
}

// Puts in `req` under lease `from` go under `to` instead.
void MoveLease(etcdserverpb::TxnRequest* req, int64_t from, int64_t to) {
  for (auto* ops : {req->mutable_success(), req->mutable_failure()})
    for (auto& op : *ops)
      if (op.has_request_put() && op.request_put().lease() == from)
        op.mutable_request_put()->set_lease(to);
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
  if (options.endpoints.empty()) return MakeError(kInvalidConfig, "no etcd endpoints");
  std::unique_ptr<EtcdClient> c(new EtcdClient(options));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Pings find a member behind a dead link, so calls to it fail fast.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 1000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  for (const std::string& e : options.endpoints) {
    auto target = Target(e, options.tls.enabled);
    if (!target.ok()) return target.error();
    Endpoint ep;
    ep.channel = grpc::CreateCustomChannel(target.value(), ClientCredentials(options.tls), args);
    ep.kv = etcdserverpb::KV::NewStub(ep.channel);
    ep.lease = etcdserverpb::Lease::NewStub(ep.channel);
    ep.watch = etcdserverpb::Watch::NewStub(ep.channel);
    c->endpoints_.push_back(std::move(ep));
  }
  return c;
}

EtcdClient::~EtcdClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (watch_ctx_) watch_ctx_->TryCancel();
  }
  stop_cv_.notify_all();
  if (keepalive_.joinable()) keepalive_.join();
  if (watcher_.joinable()) watcher_.join();
}

grpc::Status EtcdClient::Call(const char* op, const CallFn& fn) {
  auto started = std::chrono::steady_clock::now();
  grpc::Status s = CallAnyMember(fn);
  if (options_.on_call) {
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
    options_.on_call(op, took.count(), s.ok());
  }
  return s;
}

grpc::Status EtcdClient::CallAnyMember(const CallFn& fn) {
  using Clock = std::chrono::system_clock;
  auto deadline = Clock::now() + std::chrono::milliseconds(options_.call_timeout_ms);
  size_t n = endpoints_.size(), start = current_.load();
  grpc::Status last(grpc::StatusCode::DEADLINE_EXCEEDED, "no etcd member answered");
  for (size_t i = 0; i < 2 * n && Clock::now() < deadline; i++) {
    size_t idx = (start + i) % n;
    grpc::ClientContext ctx;
    ctx.set_deadline(
        std::min(deadline, Clock::now() + std::chrono::milliseconds(options_.attempt_timeout_ms)));
    last = fn(endpoints_[idx], &ctx);
    if (!Retryable(last)) {
      current_ = idx;
      return last;
    }
  }
  current_ = (start + 1) % n;
  return last;
}

Error EtcdClient::Failed(const std::string& what, const grpc::Status& s) const {
  return MakeError(kTryAgainLater, "etcd " + what + " failed: " + s.error_message());
}

Result<etcdserverpb::RangeResponse> EtcdClient::Range(const std::string& key, bool prefix) {
  etcdserverpb::RangeRequest req;
  req.set_key(key);
  if (prefix) req.set_range_end(PrefixEnd(key));
  etcdserverpb::RangeResponse resp;
  grpc::Status s = Call("range", [&](Endpoint& ep, grpc::ClientContext* ctx) {
    return ep.kv->Range(ctx, req, &resp);
  });
  if (!s.ok()) return Failed("range " + key, s);
  return resp;
}

// A Txn whose puts use a lease that expired during an outage is retried once
// under a fresh lease, so the first ADD after etcd recovers does not fail.
Result<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& req) {
  etcdserverpb::TxnResponse resp;
  etcdserverpb::TxnRequest attempt = req;
  int64_t used = lease_.load();
  grpc::Status s = Call("txn", [&](Endpoint& ep, grpc::ClientContext* ctx) {
    return ep.kv->Txn(ctx, attempt, &resp);
  });
  if (LeaseNotFound(s) && used != 0) {
    auto fresh = ReplaceLease(used);
    if (!fresh.ok()) return fresh.error();
    MoveLease(&attempt, used, fresh.value());
    s = Call("txn", [&](Endpoint& ep, grpc::ClientContext* ctx) {
      return ep.kv->Txn(ctx, attempt, &resp);
    });
  }
  if (!s.ok()) return Failed("txn", s);
  return resp;
}

Error EtcdClient::Put(const std::string& key, const std::string& value, int64_t lease) {
  etcdserverpb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  req.set_lease(lease);
  etcdserverpb::PutResponse resp;
  grpc::Status s = Call(
      "put", [&](Endpoint& ep, grpc::ClientContext* ctx) { return ep.kv->Put(ctx, req, &resp); });
  if (LeaseNotFound(s) && lease != 0) {  // expired during an outage: once more, fresh
    auto fresh = ReplaceLease(lease);
    if (!fresh.ok()) return fresh.error();
    req.set_lease(fresh.value());
    s = Call("put",
             [&](Endpoint& ep, grpc::ClientContext* ctx) { return ep.kv->Put(ctx, req, &resp); });
  }
  return s.ok() ? Error{} : Failed("put " + key, s);
}

Error EtcdClient::Delete(const std::string& key) {
  etcdserverpb::DeleteRangeRequest req;
  req.set_key(key);
  etcdserverpb::DeleteRangeResponse resp;
  grpc::Status s = Call("delete", [&](Endpoint& ep, grpc::ClientContext* ctx) {
    return ep.kv->DeleteRange(ctx, req, &resp);
  });
  return s.ok() ? Error{} : Failed("delete " + key, s);
}

int64_t EtcdClient::SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result<int64_t> EtcdClient::Grant() {
  int64_t sent = SteadyMs();
  etcdserverpb::LeaseGrantRequest req;
  req.set_ttl(options_.lease_ttl_seconds);
  etcdserverpb::LeaseGrantResponse resp;
  grpc::Status s = Call("lease_grant", [&](Endpoint& ep, grpc::ClientContext* ctx) {
    return ep.lease->LeaseGrant(ctx, req, &resp);
  });
  if (!s.ok()) return Failed("lease grant", s);
  if (!resp.error().empty()) return MakeError(kTryAgainLater, "etcd lease grant: " + resp.error());
  lease_alive_until_ms_ = sent + resp.ttl() * 1000;
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
  bool alive = false;
  int64_t sent = SteadyMs();
  Call("lease_keepalive", [&](Endpoint& ep, grpc::ClientContext* ctx) {
    auto stream = ep.lease->LeaseKeepAlive(ctx);
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(id);
    etcdserverpb::LeaseKeepAliveResponse resp;
    bool answered = stream->Write(req) && stream->Read(&resp);
    alive = answered && resp.ttl() > 0;
    if (alive && lease_.load() == id) lease_alive_until_ms_ = sent + resp.ttl() * 1000;
    ctx->TryCancel();
    grpc::Status s = stream->Finish();
    // A member that did not answer is retried on the next one; a lease that
    // etcd says is gone is final.
    return answered ? grpc::Status::OK
                    : grpc::Status(grpc::StatusCode::UNAVAILABLE, s.error_message());
  });
  return alive;
}

Result<int64_t> EtcdClient::ReplaceLease(int64_t dead) {
  // A put of on_renewed_ that fails on the brand-new lease must not wait for itself.
  static thread_local bool renewing = false;
  if (renewing) return MakeError(kTryAgainLater, "etcd lease lost again while being replaced");
  std::lock_guard<std::mutex> lock(renew_mu_);
  if (lease_.load() != dead) return lease_.load();
  auto id = Grant();
  if (!id.ok()) return id.error();
  lease_ = id.value();
  renewing = true;
  if (on_renewed_) on_renewed_(id.value());
  renewing = false;
  return id.value();
}

// Refreshes the lease at a third of its TTL. A lease that expired (partition,
// etcd outage) is replaced and the owner re-puts its keys under the new one.
void EtcdClient::KeepAliveLoop() {
  auto period = std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 / 3);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    lock.unlock();
    int64_t id = lease_.load();
    if (!KeepAliveOnce(id)) {
      Log(LogLevel::kWarn, "op=etcd-lease msg=\"keepalive failed; granting a new lease\"");
      ReplaceLease(id);
    }
    lock.lock();
  }
}

void EtcdClient::WatchPrefix(const std::string& prefix, std::function<void()> on_start,
                             WatchEvents on_events) {
  watcher_ = std::thread([this, prefix, on_start, on_events] {
    int64_t next = 0;  // 0: start from now and re-read
    for (size_t i = current_.load();; i++) {
      if (!WatchOnce(endpoints_[i % endpoints_.size()], prefix, &next, on_start, on_events)) return;
      std::unique_lock<std::mutex> lock(mu_);  // a lost stream: next member, soon
      if (stop_cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stopping_; }))
        return;
    }
  });
}

bool EtcdClient::WatchOnce(Endpoint& ep, const std::string& prefix, int64_t* next,
                           const std::function<void()>& on_start, const WatchEvents& on_events) {
  grpc::ClientContext ctx;
  // A member cut off from the leader ends the stream instead of going quiet.
  ctx.AddMetadata("hasleader", "true");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    watch_ctx_ = &ctx;
  }
  auto stream = ep.watch->Watch(&ctx);
  etcdserverpb::WatchRequest req;
  auto* create = req.mutable_create_request();
  create->set_key(prefix);
  create->set_range_end(PrefixEnd(prefix));
  create->set_start_revision(*next);
  etcdserverpb::WatchResponse resp;
  bool ok = stream->Write(req);
  while (ok && stream->Read(&resp)) {
    if (resp.compact_revision() > 0 || resp.canceled()) {
      *next = 0;  // events were lost: start from now and re-read everything
      break;
    }
    if (resp.created() && *next == 0) {
      *next = resp.header().revision() + 1;
      on_start();
    }
    if (resp.events_size() > 0) {
      on_events(resp);
      *next = resp.events(resp.events_size() - 1).kv().mod_revision() + 1;
    }
  }
  ctx.TryCancel();
  stream->Finish();
  std::lock_guard<std::mutex> lock(mu_);
  watch_ctx_ = nullptr;
  return !stopping_;
}

}  // namespace vmip
