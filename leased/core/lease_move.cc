// Moving a stopped VM (issue 16): a VM whose binding is detached asks, by any
// request way (runtimeConfig.ips, args.cni.ips, IP= in CNI_ARGS), for other free
// addresses of its pool. The binding moves there and the old addresses are freed,
// inside the ADD's one transaction, with a `move` event for the new address and a
// `release` event for the old one. While the VM is attached (running, or migrating:
// two pods) the request is refused with 106 naming the attachment, as before: the
// old address is in use and would get a second owner.
#include "decision_log.h"
#include "lease_service.h"

namespace vmip {
namespace {

std::string Where(const AttachmentRow& a) {
  return "container " + a.container_id + " (" + a.ifname + ") on node " + a.node;
}

}  // namespace

Result<LeaseRow> LeaseService::MoveDetached(AddContext& ctx, LeaseRow lease) {
  Network& net = ctx.net;
  const std::vector<IpAddress>& requested = ctx.requested;
  std::string who = lease.DescribeOwner();
  std::string bound = lease.addresses.empty() ? "" : lease.addresses[0].ip;
  auto atts = store_->AttachmentsOf(lease.id);
  if (!atts.ok()) return atts.error();
  if (lease.owner_kind != OwnerKind::kVm || !atts.value().empty())
    return MakeError(
        kLeaseMismatch,
        who + " is bound to " + bound + " and asks for another address" +
            (atts.value().empty() ? "" : ", but it is attached to " + Where(atts.value()[0])) +
            ": only a stopped (detached) VM moves; stop it first, or release it");
  if (!lease.reservation.empty())
    return MakeError(kLeaseMismatch, who + " holds " + bound + " from reservation " +
                                         lease.reservation +
                                         ", which it cannot move away from; release it first");
  int64_t now = clock_();
  std::string tag = lease.Key().Tag();
  for (AddressRow& a : lease.addresses) {
    if (a.range_set >= static_cast<int>(requested.size())) continue;
    const IpAddress& want = requested[a.range_set];
    auto old = ParseIp(a.ip);
    if (want == IpAddress{} || !old || want == *old) continue;
    if (net.allocator->IsTaken(want)) return HolderError(lease.network, want.ToString());
    std::string to = want.ToString();
    Error e = store_->MoveAddress(lease.id, a.range_set, to);
    if (!e.code) e = store_->ClearReleased(lease.network, to);
    if (!e.code) e = store_->MarkReleased(lease.network, a.ip, now);
    if (!e.code)
      e = store_->AppendEvent(EventRow{now, lease.network, EventKind::kMove, tag, to,
                                       ctx.caller.container_id(), lease.ifname, node_});
    if (!e.code)
      e = store_->AppendEvent(EventRow{now, lease.network, EventKind::kRelease, tag, a.ip,
                                       ctx.caller.container_id(), lease.ifname, node_});
    if (e.code) return e;
    Log(LogLevel::kInfo, "op=move" + Field("network", lease.network) + Field("owner", tag) +
                             Field("from", a.ip) + Field("to", to));
    ctx.fresh.push_back(AddressRow{a.range_set, to});
    moved_out_.push_back(Released{&net, *old});
    a.ip = to;
  }
  // What is left to refuse (a range set the pool gained since) is CheckLeaseFits' call.
  if (Error e = CheckLeaseFits(net, lease, requested); e.code) return e;
  return lease;
}

}  // namespace vmip
