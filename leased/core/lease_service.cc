#include "lease_service.h"

#include <set>

#include "decision_log.h"
#include "owner.h"
#include "reply_error.h"
#include "request_validation.h"
#include "store_transaction.h"

namespace vmip {
namespace {

// Requested addresses, one per range set at most, in range-set order.
Result<std::vector<IpAddress>> ParseRequested(
    const Pool& pool, const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<IpAddress> out(pool.sets().size(), IpAddress{});
  std::vector<bool> seen(pool.sets().size(), false);
  for (const std::string& text : in) {
    auto cidr = ParseCidr(text, /*allow_bare=*/true);
    if (!cidr)
      return MakeError(kInvalidConfig,
                       "requested IP \"" + text.substr(0, 64) + "\" is not an IP address");
    int set = pool.SetContaining(cidr->base);
    if (set < 0)
      return MakeError(kAddressOutsidePool, "requested IP " + cidr->base.ToString() +
                                                " is outside the ranges of network " +
                                                pool.network() + " (" + pool.Describe() + ")");
    if (pool.IsReserved(cidr->base))
      return MakeError(kAddressOutsidePool, "requested IP " + cidr->base.ToString() +
                                                " is a gateway or excluded address of network " +
                                                pool.network());
    if (seen[set])
      return MakeError(kInvalidConfig,
                       "more than one requested IP in range set " + std::to_string(set));
    seen[set] = true;
    out[set] = cidr->base;
  }
  for (size_t s = 0; s < out.size(); s++)
    if (!seen[s]) out[s] = IpAddress{};  // value 0 with v6=false marks "none"
  return out;
}

google::protobuf::RepeatedPtrField<std::string> AsRepeated(const std::vector<std::string>& v) {
  return google::protobuf::RepeatedPtrField<std::string>(v.begin(), v.end());
}

bool IsNone(const IpAddress& ip) {
  return !ip.v6 && ip.value == 0;
}

}  // namespace

Result<std::vector<IpAddress>> RequestedIps(const Pool& pool, const v1::AddRequest& req,
                                            const Identity& identity) {
  return ParseRequested(
      pool, req.requested_ips().empty() ? AsRepeated(identity.requested_ips) : req.requested_ips());
}

LeaseService::LeaseService(LeaseStore* store, std::string node, Clock clock)
    : store_(store),
      node_(std::move(node)),
      clock_(std::move(clock)),
      started_at_(clock_()),
      // A group's transaction was lost after its members changed the free sets.
      commits_(&mu_, store, [this] {
        std::vector<std::string> names;
        for (const auto& [name, net] : networks_) names.push_back(name);
        for (const std::string& name : names) RebuildNetwork(name);
      }) {}

Result<std::unique_ptr<LeaseService::Network>> LeaseService::BuildNetwork(
    const std::string& name, const v1::PoolConfig& config) {
  auto pool = Pool::FromConfig(name, config);
  if (!pool.ok()) return pool.error();
  auto net = std::make_unique<Network>();
  net->pool = std::make_unique<Pool>(std::move(pool.value()));
  net->allocator = std::make_unique<Allocator>(*net->pool);
  net->allocator->SetCooldown(reuse_cooldown_);
  config.SerializeToString(&net->config);
  Allocator& alloc = *net->allocator;
  Error e = store_->ForEachAddress(name, [&](const std::string&, const std::string& ip) {
    if (auto a = ParseIp(ip)) alloc.MarkTaken(*a);
  });
  if (e.code) return e;
  e = store_->ForEachReleased(name, [&](const std::string&, const std::string& ip, int64_t at) {
    if (auto a = ParseIp(ip)) alloc.MarkReleased(*a, at);
  });
  if (e.code) return e;
  auto held = in_flight_.find(name);  // ADDs in their etcd step keep theirs held back
  if (held != in_flight_.end())
    for (const IpAddress& ip : held->second) alloc.Reserve(ip);
  return net;
}

Error LeaseService::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  ReadSession session(store_);
  auto pools = store_->LoadPools();
  if (!pools.ok()) return pools.error();
  for (const auto& [name, bytes] : pools.value()) {
    v1::PoolConfig config;
    if (!config.ParseFromString(bytes))
      return MakeError(kInternal, "stored pool " + name + " is unreadable");
    auto net = BuildNetwork(name, config);
    if (!net.ok()) return net.error();
    net.value()->saved = true;
    networks_[name] = std::move(net.value());
  }
  return Error{};
}

// The network's pool as this request describes it. A changed config replaces the
// in-memory pool (the free sets are rebuilt from the database); it is saved with
// the request's transaction.
Result<LeaseService::Network*> LeaseService::NetworkFor(const std::string& name,
                                                        const v1::PoolConfig& config) {
  auto it = networks_.find(name);
  std::string bytes;
  config.SerializeToString(&bytes);
  if (it != networks_.end() && it->second->config == bytes) return it->second.get();
  auto net = BuildNetwork(name, config);
  if (!net.ok()) return net.error();
  Network* raw = net.value().get();
  networks_[name] = std::move(net.value());
  Log(LogLevel::kInfo, "op=pool" + Field("network", name) + Field("ranges", raw->pool->Describe()));
  return raw;
}

Error LeaseService::HolderError(const std::string& network, const std::string& ip) {
  auto holder = store_->FindHolder(network, ip);
  if (!holder.ok()) return holder.error();
  std::string who = holder.value() ? holder.value()->DescribeOwner() : "another owner";
  return MakeError(kAddressHeld, "address " + ip + " on network " + network + " is held by " + who);
}

Result<std::vector<AddressRow>> LeaseService::PickAddresses(
    Network& net, const std::vector<IpAddress>& requested) {
  std::vector<AddressRow> out;
  for (size_t s = 0; s < net.pool->sets().size(); s++) {
    IpAddress ip = requested[s];
    if (!IsNone(ip)) {
      if (net.allocator->IsTaken(ip)) return HolderError(net.pool->network(), ip.ToString());
    } else {
      auto next = net.allocator->Next(static_cast<int>(s), clock_());
      if (!next)
        return MakeError(kPoolExhausted, "no free address in range set " + std::to_string(s) +
                                             " (" + net.pool->Describe() + ") of network " +
                                             net.pool->network());
      ip = *next;
    }
    out.push_back(AddressRow{static_cast<int>(s), ip.ToString()});
  }
  return out;
}

// An existing lease is handed out again only if the current config still contains
// its addresses and the request (if any) names exactly those addresses.
Error LeaseService::CheckLeaseFits(Network& net, const LeaseRow& lease,
                                   const std::vector<IpAddress>& requested) {
  for (const AddressRow& a : lease.addresses) {
    auto ip = ParseIp(a.ip);
    if (!ip || a.range_set >= static_cast<int>(net.pool->sets().size()) ||
        !net.pool->RangeContaining(a.range_set, *ip))
      return MakeError(kBoundOutsidePool,
                       lease.DescribeOwner() + " is bound to " + a.ip + ", which network " +
                           lease.network +
                           " no longer contains; fix the pool config or release the lease");
    if (net.pool->IsReserved(*ip))
      return MakeError(
          kBoundOutsidePool,
          lease.DescribeOwner() + " is bound to " + a.ip + ", which network " + lease.network +
              " now reserves (gateway or exclude); fix the pool config or release the lease");
    const IpAddress& want = requested[a.range_set];
    if (!IsNone(want) && want != *ip)
      return MakeError(kLeaseMismatch, lease.DescribeOwner() + " is bound to " + a.ip +
                                           "; requested " + want.ToString() +
                                           " (release the lease to move it)");
  }
  if (lease.addresses.size() != net.pool->sets().size())
    return MakeError(kBoundOutsidePool,
                     lease.DescribeOwner() + " holds " + std::to_string(lease.addresses.size()) +
                         " addresses but network " + lease.network + " has " +
                         std::to_string(net.pool->sets().size()) + " range sets");
  return Error{};
}

Result<int64_t> LeaseService::BindNew(Network& net, const LeaseRow& lease,
                                      const std::vector<AddressRow>& addrs) {
  auto id = store_->InsertLease(lease);
  if (!id.ok()) return id.error();
  for (const AddressRow& a : addrs) {
    Error e = store_->InsertAddress(id.value(), lease.network, a);
    if (!e.code) e = store_->ClearReleased(lease.network, a.ip);
    if (!e.code)
      e = store_->AppendEvent(EventRow{lease.created_at, lease.network, EventKind::kBind,
                                       lease.Key().Tag(), a.ip, "", lease.ifname, node_});
    if (e.code) return e;
  }
  return id;
}

v1::AddReply LeaseService::ReplyFor(const Network& net, const LeaseRow& lease) const {
  v1::AddReply reply;
  for (const AddressRow& a : lease.addresses) {
    auto ip = ParseIp(a.ip);
    const AddressRange* r = ip ? net.pool->RangeContaining(a.range_set, *ip) : nullptr;
    if (!r) continue;  // CheckLeaseFits refused such leases before we get here
    v1::IpConfig* out = reply.add_ips();
    out->set_address(a.ip + "/" + std::to_string(r->subnet.prefix));
    if (r->has_gateway) out->set_gateway(r->gateway.ToString());
  }
  *reply.mutable_routes() = net.pool->config().routes();
  *reply.mutable_dns() = net.pool->config().dns();
  return reply;
}

Result<v1::AddReply> LeaseService::AddLocked(const v1::AddRequest& req, const Identity& identity) {
  const Owner& owner = identity.owner;
  const v1::Caller& c = req.caller();
  Error e;
  auto net_or = NetworkFor(c.network(), req.pool());
  if (!net_or.ok()) return net_or.error();
  Network& net = *net_or.value();
  auto requested = RequestedIps(*net.pool, req, identity);
  if (!requested.ok()) return requested.error();
  int64_t now = clock_();

  Transaction txn(store_);
  if (e = txn.Begin(); e.code) return e;
  // ADD-3: the same container + interface again gets the same answer.
  auto att = store_->FindAttachment(c.network(), c.container_id(), c.ifname());
  if (!att.ok() || att.value()) {
    auto lease = att.ok() ? store_->FindLeaseById(att.value()->lease_id) : att.error();
    if (!lease.ok()) return lease.error();
    if (!lease.value()) return MakeError(kInternal, "attachment without lease");
    if (e = CheckLeaseFits(net, *lease.value(), requested.value()); e.code) return e;
    return ReplyFor(net, *lease.value());
  }
  moved_out_.clear();
  AddContext ctx{net, c, owner, now, requested.value(), {}, false};
  std::vector<Released> released;
  if (e = ReleaseIfRecreated(ctx, &released); e.code) return e;
  auto lease = LeaseForAdd(ctx);
  if (!lease.ok()) return lease.error();
  AttachmentRow att_row{c.network(), c.container_id(), c.ifname(), c.netns(),
                        node_,       lease.value().id, now,        ""};
  e = store_->InsertAttachment(att_row);
  if (!e.code && lease.value().detached_at) e = store_->SetDetachedAt(lease.value().id, 0);
  if (!e.code)
    e = store_->AppendEvent(
        EventRow{now, c.network(), EventKind::kAttach, owner.Key().Tag(),
                 lease.value().addresses.empty() ? "" : lease.value().addresses[0].ip,
                 c.container_id(), c.ifname(), node_});
  if (!e.code && !net.saved) e = store_->SavePool(c.network(), net.config, now);
  if (!e.code) e = txn.Commit();
  if (e.code) {
    moved_out_.clear();  // nothing was moved
    return e;
  }
  ApplyReleased(moved_out_);
  moved_out_.clear();
  net.saved = true;
  ApplyReleased(released);
  for (const AddressRow& a : ctx.fresh) net.allocator->Take(*ParseIp(a.ip));
  return ReplyFor(net, lease.value());
}

Result<LeaseRow> LeaseService::NewLease(const AddContext& ctx, const std::vector<AddressRow>& addrs,
                                        int64_t cluster_revision) {
  const v1::Caller& c = ctx.caller;
  LeaseRow lease{0,
                 c.network(),
                 ctx.owner.kind,
                 ctx.owner.name,
                 ctx.owner.uid,
                 c.ifname(),
                 ctx.now,
                 "",
                 addrs,
                 cluster_revision,
                 "",
                 ctx.owner.source};
  auto id = BindNew(ctx.net, lease, addrs);
  if (!id.ok()) return id.error();
  lease.id = id.value();
  return lease;
}

// The lease an ADD attaches to: the owner's own, a claimed reservation, or a new
// binding. ctx.fresh receives the addresses the free sets take after the commit.
Result<LeaseRow> LeaseService::LeaseForAdd(AddContext& ctx) {
  const v1::Caller& c = ctx.caller;
  auto found = store_->FindLease(c.network(), ctx.owner.kind, ctx.owner.name, c.ifname());
  if (!found.ok()) return found.error();
  std::optional<LeaseRow> lease = found.value();
  if (!lease && !c.reservation().empty()) {
    auto reserved = ClaimReservation(ctx);
    if (!reserved.ok()) return reserved.error();
    lease = reserved.value();
  }
  if (lease) {
    Error e = CheckLeaseFits(ctx.net, *lease, ctx.requested);
    if (e.code == kLeaseMismatch) return MoveDetached(ctx, *lease);
    if (e.code) return e;
    return *lease;
  }
  auto picked = PickAddresses(ctx.net, ctx.requested);
  if (!picked.ok()) return picked.error();
  ctx.fresh = picked.value();
  return NewLease(ctx, ctx.fresh);
}

v1::AddReply LeaseService::Add(const v1::AddRequest& req) {
  const v1::Caller& c = req.caller();
  // Before the lock: naming the owner may ask the Kubernetes API.
  Error e = ValidateCaller(c, /*need_netns=*/true);
  auto identity = e.code             ? Result<Identity>(e)
                  : identity_source_ ? identity_source_->Resolve(c)
                                     : IdentityFromArgs(c);
  Result<v1::AddReply> reply = MakeError(kInternal, "ADD did not run");
  if (!identity.ok()) reply = identity.error();
  Error committed;
  if (identity.ok() && coordinator_->clustered())
    reply = AddClustered(req, identity.value());
  else if (identity.ok())
    committed = commits_.Run([&] {
      ReadSession session(store_);  // NetworkFor reads before AddLocked's transaction
      reply = AddLocked(req, identity.value());
    });
  if (committed.code && reply.ok()) reply = committed;
  std::string who = Field("network", c.network()) + Field("container", c.container_id()) +
                    Field("ifname", c.ifname()) +
                    Field("pod", c.pod_namespace() + "/" + c.pod_name());
  if (!reply.ok()) {
    Log(LogLevel::kWarn, "op=add" + who + Field("code", std::to_string(reply.error().code)) +
                             " msg=\"" + reply.error().msg + "\"");
    return WithError<v1::AddReply>(reply.error());
  }
  std::string ips;
  for (const auto& ip : reply.value().ips()) ips += (ips.empty() ? "" : ",") + ip.address();
  Log(LogLevel::kInfo, "op=add" + who + Field("ips", ips));
  return reply.value();
}

void LeaseService::RebuildNetwork(const std::string& name) {
  auto it = networks_.find(name);
  if (it == networks_.end()) return;
  v1::PoolConfig config = it->second->pool->config();
  auto net = BuildNetwork(name, config);
  if (net.ok())
    it->second = std::move(net.value());
  else
    networks_.erase(it);  // rebuilt lazily by the next request that names it
}

// A reservation (vmipctl reserve) becomes this owner's lease; its address never
// went through the allocator, so the free sets do not change.
Result<LeaseRow> LeaseService::ClaimReservation(const AddContext& ctx) {
  const v1::Caller& c = ctx.caller;
  const Owner& owner = ctx.owner;
  auto held = store_->LeasesOf(c.network(), OwnerKind::kReservation, c.reservation());
  if (!held.ok()) return held.error();
  if (held.value().empty())
    return MakeError(kUnknownReservation, "reservation \"" + c.reservation() + "\" on network " +
                                              c.network() +
                                              " does not exist or has no unclaimed address");
  LeaseRow lease = held.value().front();
  Error e = store_->Reown(lease.id, owner.kind, owner.name, c.ifname(), c.reservation());
  if (!e.code)
    e = store_->AppendEvent(EventRow{clock_(), c.network(), EventKind::kClaim, owner.Key().Tag(),
                                     lease.addresses.empty() ? "" : lease.addresses[0].ip,
                                     c.container_id(), c.ifname(), node_});
  if (e.code) return e;
  lease.owner_kind = owner.kind;
  lease.owner = owner.name;
  lease.ifname = c.ifname();
  lease.reservation = c.reservation();
  return lease;
}

v1::CheckReply LeaseService::Check(const v1::CheckRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  const v1::Caller& c = req.caller();
  Error e = ValidateCaller(c, /*need_netns=*/true);
  if (e.code) return WithError<v1::CheckReply>(e);
  ReadSession session(store_);
  auto net = NetworkFor(c.network(), req.pool());
  if (!net.ok()) return WithError<v1::CheckReply>(net.error());
  auto att = store_->FindAttachment(c.network(), c.container_id(), c.ifname());
  auto found = att.ok() && att.value() ? store_->FindLeaseById(att.value()->lease_id)
               : att.ok()              ? Result<std::optional<LeaseRow>>(std::nullopt)
                                       : att.error();
  if (!found.ok()) return WithError<v1::CheckReply>(found.error());
  const std::optional<LeaseRow>& lease = found.value();
  if (!lease)
    return WithError<v1::CheckReply>(
        MakeError(kNoLease, "no lease for container " + c.container_id() + " interface " +
                                c.ifname() + " on network " + c.network()));
  std::vector<IpAddress> none(net.value()->pool->sets().size(), IpAddress{});
  if (e = CheckLeaseFits(*net.value(), *lease, none); e.code) return WithError<v1::CheckReply>(e);
  std::set<std::string> held, expected;
  for (const auto& a : lease->addresses) held.insert(a.ip);
  for (const auto& text : req.expected_ips()) {
    auto cidr = ParseCidr(text, true);
    expected.insert(cidr ? cidr->base.ToString() : text);
  }
  if (!expected.empty() && expected != held) {
    std::string h;
    for (const auto& ip : held) h += (h.empty() ? "" : ",") + ip;
    return WithError<v1::CheckReply>(
        MakeError(kLeaseMismatch, "prevResult addresses differ from the lease of container " +
                                      c.container_id() + " (lease holds " + h + ")"));
  }
  return v1::CheckReply{};
}

v1::StatusReply LeaseService::Status(const v1::StatusRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  ReadSession session(store_);
  auto net = NetworkFor(req.network(), req.pool());
  if (!net.ok()) return WithError<v1::StatusReply>(net.error());
  for (size_t s = 0; s < net.value()->pool->sets().size(); s++)
    if (!net.value()->allocator->Next(static_cast<int>(s), clock_()))
      return WithError<v1::StatusReply>(MakeError(
          kNotAvailable,
          "network " + req.network() + " has no free address in range set " + std::to_string(s)));
  return v1::StatusReply{};
}

}  // namespace vmip
