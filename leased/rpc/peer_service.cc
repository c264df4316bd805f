#include "peer_service.h"

#include <algorithm>

namespace vmip {
namespace {

// Peer calls are never forwarded again: a peer answers from its own table only.
template <typename Request>
Request LocalOnly(const Request& req) {
  Request copy = req;
  copy.set_cluster(false);
  return copy;
}

}  // namespace

grpc::Status PeerService::ListLeases(grpc::ServerContext*, const v1::ListLeasesRequest* q,
                                     v1::ListLeasesReply* r) {
  *r = s_->ListLeases(LocalOnly(*q));
  Count("ListLeases", r->error().code());
  return grpc::Status::OK;
}

grpc::Status PeerService::History(grpc::ServerContext*, const v1::HistoryRequest* q,
                                  v1::HistoryReply* r) {
  *r = s_->History(LocalOnly(*q));
  Count("History", r->error().code());
  return grpc::Status::OK;
}

grpc::Status PeerService::Handoff(grpc::ServerContext*, const v1::HandoffNotice* q,
                                  v1::HandoffReply*) {
  if (coordinator_) coordinator_->RecordHandoff(*q);
  Count("Handoff", 0);
  return grpc::Status::OK;
}

namespace {

// Asks every live peer with `call`, hands each answer to `merge`, and names the
// peers that did not answer (a dead peer must not hide the others' rows).
template <typename Reply, typename Call, typename Merge>
void FanOut(PeerDirectory& peers, Reply* out, Call call, Merge merge) {
  auto list = peers.Peers();
  if (!list.ok()) {
    out->add_unreachable("etcd: " + list.error().msg);
    return;
  }
  for (const auto& [name, stub] : list.value()) {
    Reply r;
    grpc::Status s = call(stub, &r);
    if (!s.ok() || r.error().code() != 0) {
      out->add_unreachable(name);
      continue;
    }
    merge(&r);
  }
}

}  // namespace

v1::ListLeasesReply ClusterLeases(LeaseService& local, PeerDirectory& peers,
                                  const v1::ListLeasesRequest& req) {
  v1::ListLeasesReply out = local.ListLeases(LocalOnly(req));
  FanOut(
      peers, &out,
      [&](v1::Peer::Stub* stub, v1::ListLeasesReply* r) {
        return stub->ListLeases(PeerContext().get(), LocalOnly(req), r);
      },
      [&](v1::ListLeasesReply* r) {
        for (auto& l : *r->mutable_leases()) *out.add_leases() = std::move(l);
      });
  return out;
}

v1::HistoryReply ClusterHistory(LeaseService& local, PeerDirectory& peers,
                                const v1::HistoryRequest& req) {
  v1::HistoryReply out = local.History(LocalOnly(req));
  FanOut(
      peers, &out,
      [&](v1::Peer::Stub* stub, v1::HistoryReply* r) {
        return stub->History(PeerContext().get(), LocalOnly(req), r);
      },
      [&](v1::HistoryReply* r) {
        for (auto& e : *r->mutable_events()) *out.add_events() = std::move(e);
      });
  auto* events = out.mutable_events();
  std::stable_sort(events->begin(), events->end(),
                   [](const v1::Event& a, const v1::Event& b) { return a.at() > b.at(); });
  return out;
}

}  // namespace vmip
