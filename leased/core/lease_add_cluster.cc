// Cluster mode's ADD: the etcd round trips run outside the node-wide mu_, so a
// slow or failing etcd delays only this owner's requests, never a DEL, CHECK,
// vmipctl call or ADD of another owner on the node. Three steps
// (cluster_add_plan.h): read under mu_, agree with the cluster under the owner's
// lock only, then re-check and commit under mu_ (in a commit group, like
// standalone ADDs). A failed ADD undoes its etcd writes by version. A new pod's
// ADD makes one etcd round trip: the claim carries the attachment.
#include <cstdio>
#include <random>

#include "decision_log.h"
#include "lease_service.h"
#include "store_transaction.h"
#include "test_gate.h"

namespace vmip {
namespace {

// 64 random bits, hex: tells an attachment's cluster record from an older one with
// the same container ID and interface.
std::string NewToken() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

// The owner's binding on the network (beside ContainerLockKey).
std::string OwnerLockKey(const v1::Caller& c, const Owner& owner) {
  return "o/" + c.network() + "/" + owner.Key(c.ifname()).Encode();
}

}  // namespace

std::string ContainerLockKey(const v1::Caller& c) {
  return "a/" + c.network() + "/" + c.container_id() + "#" + c.ifname();
}

void LeaseService::ReserveInFlight(Network& net, const std::vector<AddressRow>& addrs,
                                   std::vector<IpAddress>* held) {
  std::multiset<IpAddress>& mine = in_flight_[net.pool->network()];
  for (const AddressRow& a : addrs) {
    auto ip = ParseIp(a.ip);
    if (!ip) continue;
    net.allocator->Reserve(*ip);
    mine.insert(*ip);
    held->push_back(*ip);
  }
}

void LeaseService::UnreserveInFlight(const std::string& network, std::vector<IpAddress>* held) {
  auto mine = in_flight_.find(network);
  auto net = networks_.find(network);
  for (const IpAddress& ip : *held) {
    if (mine != in_flight_.end())
      if (auto it = mine->second.find(ip); it != mine->second.end()) mine->second.erase(it);
    if (net != networks_.end()) net->second->allocator->Unreserve(ip);
  }
  if (mine != in_flight_.end() && mine->second.empty()) in_flight_.erase(mine);
  held->clear();
}

// Step 1, under mu_: the same container + interface again gets the same answer
// (the returned reply); else the owner's local lease as it is now goes into *in.
Result<std::optional<v1::AddReply>> LeaseService::ReadForClusterAdd(AddIntent* in,
                                                                    const Identity& identity) {
  const v1::Caller& c = in->req.caller();
  std::lock_guard<std::mutex> lock(mu_);
  ReadSession session(store_);
  auto net = NetworkFor(c.network(), in->req.pool());
  if (!net.ok()) return net.error();
  auto requested = RequestedIps(*net.value()->pool, in->req, identity);
  if (!requested.ok()) return requested.error();
  in->requested = requested.value();
  auto att = store_->FindAttachment(c.network(), c.container_id(), c.ifname());
  if (!att.ok() || att.value()) {
    auto lease = att.ok() ? store_->FindLeaseById(att.value()->lease_id) : att.error();
    if (!lease.ok()) return lease.error();
    if (!lease.value()) return MakeError(kInternal, "attachment without lease");
    if (Error e = CheckLeaseFits(*net.value(), *lease.value(), in->requested); e.code) return e;
    return std::optional<v1::AddReply>(ReplyFor(*net.value(), *lease.value()));
  }
  AddContext ctx{*net.value(), c, in->owner, clock_(), in->requested, {}, false};
  std::vector<Released> released;  // none in cluster mode: a re-created owner waits
  Transaction txn(store_);
  Error e = txn.Begin();
  if (!e.code) e = ReleaseIfRecreated(ctx, &released);
  if (!e.code) e = txn.Commit();
  if (e.code) return e;
  auto found = store_->FindLease(c.network(), in->owner.kind, in->owner.name, c.ifname());
  if (!found.ok()) return found.error();
  in->lease = found.value();
  return std::optional<v1::AddReply>();
}

// Step 3, under mu_ in the commit group's transaction.
Result<v1::AddReply> LeaseService::CommitClusterAdd(const AddIntent& in, const ClusterAddPlan& plan,
                                                    AttachmentRow att) {
  const v1::Caller& c = in.req.caller();
  ReadSession session(store_);
  auto net_or = NetworkFor(c.network(), in.req.pool());
  if (!net_or.ok()) return net_or.error();
  Network& net = *net_or.value();
  AddContext ctx{net, c, in.owner, att.attached_at, in.requested, {}, false};
  Transaction txn(store_);
  Error e = txn.Begin();
  if (e.code) return e;
  auto lease = coordinator_->ApplyAdd(ctx, plan);
  if (!lease.ok()) return lease.error();
  att.lease_id = lease.value().id;
  e = store_->InsertAttachment(att);
  if (!e.code && lease.value().detached_at) e = store_->SetDetachedAt(lease.value().id, 0);
  if (!e.code)
    e = store_->AppendEvent(
        EventRow{ctx.now, c.network(), EventKind::kAttach, in.owner.Key().Tag(),
                 lease.value().addresses.empty() ? "" : lease.value().addresses[0].ip,
                 c.container_id(), c.ifname(), node_});
  if (!e.code && !net.saved) e = store_->SavePool(c.network(), net.config, ctx.now);
  if (!e.code) e = txn.Commit();
  if (e.code) return e;
  net.saved = true;
  for (const AddressRow& a : ctx.fresh) net.allocator->Take(*ParseIp(a.ip));
  return ReplyFor(net, lease.value());
}

Result<v1::AddReply> LeaseService::AddClustered(const v1::AddRequest& req,
                                                const Identity& identity) {
  const v1::Caller& c = req.caller();
  OwnerLocks::Held held = owner_locks_.Lock({ContainerLockKey(c), OwnerLockKey(c, identity.owner)});
  AddIntent in{req, identity.owner, {}, std::nullopt};
  auto again = ReadForClusterAdd(&in, identity);
  if (!again.ok()) return again.error();
  if (again.value()) return *again.value();
  // Step 2: etcd, without mu_.
  ClusterAddPlan plan;
  AttachmentRow att{c.network(), c.container_id(), c.ifname(), c.netns(), node_,
                    0,           clock_(),         NewToken()};
  Error e = coordinator_->PlanAdd(in, att, &plan);
  Result<v1::AddReply> reply = e;
  if (!e.code) {
    PauseAtAddGate();  // test hook, inert unless VMIP_TEST_ADD_GATE names a file
    Error committed = commits_.Run([&] { reply = CommitClusterAdd(in, plan, att); });
    if (committed.code && reply.ok()) reply = committed;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    UnreserveInFlight(c.network(), &plan.reserved);
    if (reply.ok()) coordinator_->AddCommitted(&plan);
  }
  if (!reply.ok()) coordinator_->UndoAdd(att, plan);
  return reply;
}

}  // namespace vmip
