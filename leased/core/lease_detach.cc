// The DEL side: DEL and GC remove attachments; a pod lease dies with its last
// one, a VM lease stays (detached) until released, a copy another node adopted goes.
#include <set>

#include "decision_log.h"
#include "lease_service.h"
#include "reply_error.h"
#include "request_validation.h"
#include "store_transaction.h"

namespace vmip {

// Removes one attachment. A pod lease dies with its last attachment; a VM lease
// stays bound, detached, until the VM is released.
// The outbox row names the attachment's owner and token, so a late replay cannot
// remove a newer attachment with the same key.
Error LeaseService::DropAttachment(const AttachmentRow& att, const LeaseRow& lease) {
  Error e = store_->DeleteAttachment(att);
  if (!e.code) e = coordinator_->QueueDetach(att, lease);
  return e;
}

Error LeaseService::Detach(const AttachmentRow& att, std::vector<Released>* released) {
  int64_t now = clock_();
  auto found = store_->FindLeaseById(att.lease_id);
  if (!found.ok()) return found.error();
  if (!found.value()) return store_->DeleteAttachment(att);  // CASCADE makes this unreachable
  const LeaseRow& lease = *found.value();
  Error e = DropAttachment(att, lease);
  if (e.code) return e;
  std::string owner = lease.Key().Tag();
  std::string ip = lease.addresses.empty() ? "" : lease.addresses[0].ip;
  e = store_->AppendEvent(EventRow{now, att.network, EventKind::kDetach, owner, ip,
                                   att.container_id, att.ifname, node_});
  if (e.code || lease.owner_kind == OwnerKind::kReservation) return e;
  auto left = store_->CountAttachments(lease.id);
  if (!left.ok()) return left.error();
  if (left.value() > 0) return Error{};
  // The detached TTL counts from here; the next attach clears it.
  if (lease.owner_kind != OwnerKind::kPod && lease.handed_to.empty())
    return store_->SetDetachedAt(lease.id, now);
  if (lease.owner_kind != OwnerKind::kPod) return DropHandedOver(lease, released);
  return FreeLease(lease, att.container_id, released);
}

Error LeaseService::FreeLease(const LeaseRow& lease, const std::string& container_id,
                              std::vector<Released>* released, bool queue_cluster_release,
                              EventKind event_kind) {
  int64_t now = clock_();
  std::string owner = lease.Key().Tag();
  std::string first_ip = lease.addresses.empty() ? "" : lease.addresses[0].ip;
  if (!lease.reservation.empty()) {
    Error e =
        store_->Reown(lease.id, OwnerKind::kReservation, lease.reservation, "#" + first_ip, "");
    if (!e.code)
      e = store_->AppendEvent(EventRow{now, lease.network, EventKind::kUnclaim, owner, first_ip,
                                       container_id, lease.ifname, node_});
    return e;
  }
  if (Error e = store_->DeleteLease(lease.id); e.code) return e;
  if (queue_cluster_release)
    if (Error e = coordinator_->QueueRelease(lease); e.code) return e;
  auto net = networks_.find(lease.network);
  bool first = true;
  for (const AddressRow& a : lease.addresses) {
    if (Error e = store_->MarkReleased(lease.network, a.ip, now); e.code) return e;
    Error e = store_->AppendEvent(
        EventRow{now, lease.network, event_kind, owner, a.ip, container_id, lease.ifname, node_});
    if (e.code) return e;
    auto ip = ParseIp(a.ip);
    if (!ip || net == networks_.end()) continue;
    released->push_back(Released{net->second.get(), *ip, false, first ? lease.network : ""});
    first = false;
  }
  return Error{};
}

void LeaseService::ApplyReleased(const std::vector<Released>& released,
                                 std::optional<ReleaseReason> reason) {
  int64_t now = clock_();
  for (const Released& r : released) {
    if (r.handed_over)
      r.net->allocator->HandOver(r.ip);
    else
      r.net->allocator->Release(r.ip, now);
    if (reason && release_observer_ && !r.ends_lease_on.empty())
      release_observer_->LeasesReleased(r.ends_lease_on, *reason, 1);
  }
}

// Sets *detached when there was an attachment to remove.
Error LeaseService::DelLocked(const v1::DelRequest& req, bool* detached,
                              std::string* released_ips) {
  const v1::Caller& c = req.caller();
  Error e = ValidateCaller(c, /*need_netns=*/false);
  if (e.code) return e;
  std::vector<Released> released;
  Transaction txn(store_);
  if (e = txn.Begin(); e.code) return e;
  auto att = store_->FindAttachment(c.network(), c.container_id(), c.ifname());
  if (!att.ok() || !att.value()) {
    if (att.ok()) return Error{};  // DEL-1: nothing to do is success
    // A read that failed is not "nothing there": code 11, the plugin spools the DEL.
    Log(LogLevel::kError,
        "op=del" + Field("network", c.network()) + " msg=\"" + att.error().msg + "\"");
    return MakeError(kTryAgainLater, att.error().msg);
  }
  e = Detach(*att.value(), &released);
  if (!e.code) e = txn.Commit();
  if (e.code) {
    Log(LogLevel::kError, "op=del" + Field("network", c.network()) + " msg=\"" + e.msg + "\"");
    return e;
  }
  *detached = true;
  ApplyReleased(released, ReleaseReason::kPodDeleted);
  *released_ips = IpsOf(released);
  return Error{};
}

std::string LeaseService::IpsOf(const std::vector<Released>& released) {
  std::string ips;
  for (const Released& r : released) ips += (ips.empty() ? "" : ",") + r.ip.ToString();
  return ips;
}

v1::DelReply LeaseService::Del(const v1::DelRequest& req) {
  Error e;
  bool detached = false;
  std::string ips;
  // Cluster mode: after an ADD of the same container still in its etcd step, never
  // beside it; DELs of other containers do not wait (lease_add_cluster.cc).
  std::optional<OwnerLocks::Held> same_container;
  if (coordinator_->clustered())
    same_container.emplace(owner_locks_.Lock({ContainerLockKey(req.caller())}));
  Error committed = commits_.Run([&] { e = DelLocked(req, &detached, &ips); },
                                 /*grouped=*/!coordinator_->clustered());
  if (!e.code) e = committed;  // the commit group logged why
  if (e.code) return WithError<v1::DelReply>(e);
  const v1::Caller& c = req.caller();
  if (detached)
    Log(LogLevel::kInfo, "op=del" + Field("network", c.network()) +
                             Field("container", c.container_id()) + Field("ifname", c.ifname()) +
                             Field("released", ips));
  return v1::DelReply{};
}

v1::GcReply LeaseService::Gc(const v1::GcRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!IsValidNetworkName(req.network()))
    return WithError<v1::GcReply>(MakeError(kInvalidConfig, "invalid network name"));
  std::set<std::pair<std::string, std::string>> valid;
  for (const auto& v : req.valid()) valid.insert({v.container_id(), v.ifname()});
  Transaction txn(store_);
  auto atts = store_->ListAttachments(req.network());
  if (!atts.ok()) return WithError<v1::GcReply>(atts.error());
  std::vector<Released> released;
  uint32_t dropped = 0;
  Error e = txn.Begin();
  for (const AttachmentRow& a : atts.value()) {
    if (e.code) break;
    if (valid.count({a.container_id, a.ifname})) continue;
    e = Detach(a, &released);
    dropped++;
  }
  if (!e.code) e = txn.Commit();
  if (e.code) return WithError<v1::GcReply>(e);
  ApplyReleased(released, ReleaseReason::kGc);
  Log(LogLevel::kInfo,
      "op=gc" + Field("network", req.network()) + Field("dropped", std::to_string(dropped)));
  v1::GcReply reply;
  reply.set_dropped(dropped);
  return reply;
}

Error LeaseService::DropHandedOver(const LeaseRow& lease, std::vector<Released>* released) {
  if (Error e = store_->DeleteLease(lease.id); e.code) return e;
  std::string ip = lease.addresses.empty() ? "" : lease.addresses[0].ip;
  if (Error e = store_->AppendEvent(EventRow{clock_(), lease.network, EventKind::kDropCopy,
                                             lease.Key().Tag(), ip, "", lease.ifname, node_});
      e.code)
    return e;
  auto net = networks_.find(lease.network);
  for (const AddressRow& a : lease.addresses)
    if (auto parsed = ParseIp(a.ip); parsed && net != networks_.end())
      released->push_back(Released{net->second.get(), *parsed, /*handed_over=*/true});
  return Error{};
}

}  // namespace vmip
