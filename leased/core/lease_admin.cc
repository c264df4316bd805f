// Operator actions from vmipctl: reserve and unreserve addresses, release a VM.
#include "decision_log.h"
#include "lease_service.h"
#include "reply_error.h"
#include "store_transaction.h"

namespace vmip {
namespace {

constexpr uint32_t kMaxReserve = 4096;

}  // namespace

v1::ReserveReply LeaseService::Reserve(const v1::ReserveRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (coordinator_->clustered())
    return WithError<v1::ReserveReply>(
        MakeError(kInvalidConfig, "reservations are not supported in cluster mode yet"));
  auto it = networks_.find(req.network());
  if (it == networks_.end())
    return WithError<v1::ReserveReply>(MakeError(
        kInvalidConfig,
        "network \"" + req.network() + "\" has no pool yet: it is configured by its first ADD"));
  if (!IsValidNetworkName(req.name()))
    return WithError<v1::ReserveReply>(
        MakeError(kInvalidConfig, "invalid reservation name \"" + req.name() + "\""));
  uint32_t count = req.ip().empty() ? std::max<uint32_t>(req.count(), 1) : 1;
  if (count > kMaxReserve)
    return WithError<v1::ReserveReply>(MakeError(kInvalidConfig, "--count is limited to 4096"));
  Network& net = *it->second;
  std::vector<IpAddress> requested(net.pool->sets().size(), IpAddress{});
  if (!req.ip().empty()) {
    auto ip = ParseIp(req.ip());
    int set = ip ? net.pool->SetContaining(*ip) : -1;
    if (set < 0 || net.pool->IsReserved(*ip))
      return WithError<v1::ReserveReply>(MakeError(
          kAddressOutsidePool,
          "\"" + req.ip() + "\" is not an assignable address of network " + req.network()));
    requested[set] = *ip;
  }
  int64_t now = clock_();
  v1::ReserveReply reply;
  Transaction txn(store_);
  Error e = txn.Begin();
  // Addresses are taken as they are picked so the next pick differs; if the
  // transaction fails, the free sets are rebuilt from the database.
  for (uint32_t i = 0; i < count && !e.code; i++) {
    auto picked = PickAddresses(net, requested);
    if (!picked.ok()) {
      e = picked.error();
      break;
    }
    LeaseRow lease{0,
                   req.network(),
                   OwnerKind::kReservation,
                   req.name(),
                   "",
                   "#" + picked.value()[0].ip,
                   now,
                   "",
                   {},
                   0,
                   "",
                   ""};
    auto id = BindNew(net, lease, picked.value());
    if (!id.ok()) e = id.error();
    for (const AddressRow& a : picked.value()) {
      net.allocator->Take(*ParseIp(a.ip));
      reply.add_ips(a.ip);
    }
  }
  // The pool may so far be known only in memory (a CHECK or STATUS named it).
  if (!e.code && !net.saved) e = store_->SavePool(req.network(), net.config, now);
  if (!e.code) e = txn.Commit();
  if (e.code) {
    txn.Rollback();  // RebuildNetwork must read the database as it was before
    RebuildNetwork(req.network());
    return WithError<v1::ReserveReply>(e);
  }
  net.saved = true;
  Log(LogLevel::kInfo, "op=reserve network=" + req.network() + " name=" + req.name() +
                           " count=" + std::to_string(reply.ips_size()));
  return reply;
}

v1::UnreserveReply LeaseService::Unreserve(const v1::UnreserveRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(store_);
  auto held = store_->LeasesOf(req.network(), OwnerKind::kReservation, req.name());
  if (!held.ok()) return WithError<v1::UnreserveReply>(held.error());
  std::vector<Released> released;
  Error e = txn.Begin();
  for (const LeaseRow& l : held.value())
    if (!e.code) e = FreeLease(l, "", &released);
  // Claimed addresses stay with their VMs, as ordinary VM leases from now on.
  if (!e.code) e = store_->ClearReservation(req.network(), req.name());
  if (!e.code) e = txn.Commit();
  if (e.code) return WithError<v1::UnreserveReply>(e);
  if (held.value().empty())
    return WithError<v1::UnreserveReply>(
        MakeError(kUnknownReservation, "no unclaimed addresses of reservation \"" + req.name() +
                                           "\" on network " + req.network()));
  ApplyReleased(released, ReleaseReason::kByHand);
  v1::UnreserveReply reply;
  reply.set_released(static_cast<uint32_t>(held.value().size()));
  Log(LogLevel::kInfo, "op=unreserve network=" + req.network() + " name=" + req.name());
  return reply;
}

v1::ReleaseReply LeaseService::Release(const v1::ReleaseRequest& req) {
  if (req.vm().find('/') == std::string::npos)
    return WithError<v1::ReleaseReply>(MakeError(kInvalidConfig, "--vm must be namespace/name"));
  if (coordinator_->clustered()) return coordinator_->Release(req);
  std::lock_guard<std::mutex> lock(mu_);
  Transaction txn(store_);
  auto leases = store_->LeasesOf(req.network(), OwnerKind::kVm, req.vm());
  if (!leases.ok()) return WithError<v1::ReleaseReply>(leases.error());
  if (leases.value().empty())
    return WithError<v1::ReleaseReply>(
        MakeError(kNoLease, "VM " + req.vm() + " holds no lease" +
                                (req.network().empty() ? "" : " on network " + req.network())));
  std::vector<Released> released;
  v1::ReleaseReply reply;
  Error e = txn.Begin();
  if (!e.code) e = ReleaseLocal(leases.value(), req.force(), /*queue_cluster=*/true, &released);
  if (!e.code) e = txn.Commit();
  if (e.code) return WithError<v1::ReleaseReply>(e);
  ApplyReleased(released, ReleaseReason::kByHand);
  for (const LeaseRow& l : leases.value())
    for (const AddressRow& a : l.addresses) reply.add_ips(a.ip);
  Log(LogLevel::kInfo,
      "op=release vm=" + req.vm() + " addresses=" + std::to_string(reply.ips_size()));
  return reply;
}

// Inside the caller's transaction. A lease with attachments is refused unless force.
Error LeaseService::ReleaseLocal(const std::vector<LeaseRow>& leases, bool force,
                                 bool queue_cluster, std::vector<Released>* released) {
  for (const LeaseRow& l : leases) {
    auto atts = store_->AttachmentsOf(l.id);
    if (!atts.ok()) return atts.error();
    if (!atts.value().empty() && !force)
      return MakeError(kLeaseAttached, "VM " + l.owner + " is attached to container " +
                                           atts.value()[0].container_id + " on node " +
                                           atts.value()[0].node + " (network " + l.network +
                                           "); stop the VM first or use --force");
    for (const AttachmentRow& a : atts.value())
      if (Error e = DropAttachment(a, l); e.code) return e;
    if (Error e = FreeLease(l, "", released, queue_cluster); e.code) return e;
  }
  return Error{};
}

}  // namespace vmip
