#include "grpc_services.h"

#include <chrono>

#include "metrics_status.h"
#include "peer_service.h"
#include "reply_error.h"

namespace vmip {
namespace {

template <typename Reply>
Reply NotClustered() {
  return WithError<Reply>(
      MakeError(kInvalidConfig, "--cluster needs a daemon running with --cluster etcd"));
}

}  // namespace

template <typename Reply, typename Call>
void CniService::Timed(DaemonMetrics::Command command, Reply* reply, Call call) {
  auto start = std::chrono::steady_clock::now();
  *reply = call();
  if (!metrics_) return;
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  metrics_->RecordCni(command, reply->error().code(), took.count());
}

grpc::Status CniService::Add(grpc::ServerContext*, const v1::AddRequest* q, v1::AddReply* r) {
  Timed(DaemonMetrics::Command::kAdd, r, [&] { return s_->Add(*q); });
  return grpc::Status::OK;
}

grpc::Status CniService::Del(grpc::ServerContext*, const v1::DelRequest* q, v1::DelReply* r) {
  Timed(DaemonMetrics::Command::kDel, r, [&] { return s_->Del(*q); });
  return grpc::Status::OK;
}

grpc::Status CniService::Check(grpc::ServerContext*, const v1::CheckRequest* q, v1::CheckReply* r) {
  Timed(DaemonMetrics::Command::kCheck, r, [&] { return s_->Check(*q); });
  return grpc::Status::OK;
}

grpc::Status CniService::Gc(grpc::ServerContext*, const v1::GcRequest* q, v1::GcReply* r) {
  Timed(DaemonMetrics::Command::kGc, r, [&] { return s_->Gc(*q); });
  return grpc::Status::OK;
}

grpc::Status CniService::Status(grpc::ServerContext*, const v1::StatusRequest* q,
                                v1::StatusReply* r) {
  Timed(DaemonMetrics::Command::kStatus, r, [&] { return s_->Status(*q); });
  return grpc::Status::OK;
}

grpc::Status AdminService::ListLeases(grpc::ServerContext*, const v1::ListLeasesRequest* q,
                                      v1::ListLeasesReply* r) {
  if (q->cluster())
    *r = peers_ ? ClusterLeases(*s_, *peers_, *q) : NotClustered<v1::ListLeasesReply>();
  else
    *r = s_->ListLeases(*q);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListPools(grpc::ServerContext*, const v1::ListPoolsRequest*,
                                     v1::ListPoolsReply* r) {
  *r = s_->ListPools();
  return grpc::Status::OK;
}

grpc::Status AdminService::Status(grpc::ServerContext*, const v1::DaemonStatusRequest* q,
                                  v1::DaemonStatusReply* r) {
  *r = s_->DaemonStatus(q->ready());
  r->set_db_path(facts_.db_path);
  r->set_spool_replayed(facts_.spool_replayed);
  if (facts_.add_status) facts_.add_status(r);
  if (metrics_ && !r->error().code()) AddMetricsToStatus(metrics_->registry(), r);
  return grpc::Status::OK;
}

grpc::Status AdminService::History(grpc::ServerContext*, const v1::HistoryRequest* q,
                                   v1::HistoryReply* r) {
  if (q->cluster())
    *r = peers_ ? ClusterHistory(*s_, *peers_, *q) : NotClustered<v1::HistoryReply>();
  else
    *r = s_->History(*q);
  return grpc::Status::OK;
}

grpc::Status AdminService::Reserve(grpc::ServerContext*, const v1::ReserveRequest* q,
                                   v1::ReserveReply* r) {
  *r = s_->Reserve(*q);
  return grpc::Status::OK;
}

grpc::Status AdminService::Unreserve(grpc::ServerContext*, const v1::UnreserveRequest* q,
                                     v1::UnreserveReply* r) {
  *r = s_->Unreserve(*q);
  return grpc::Status::OK;
}

grpc::Status AdminService::Release(grpc::ServerContext*, const v1::ReleaseRequest* q,
                                   v1::ReleaseReply* r) {
  *r = s_->Release(*q);
  return grpc::Status::OK;
}

grpc::Status AdminService::CheckIntegrity(grpc::ServerContext*, const v1::CheckIntegrityRequest*,
                                          v1::CheckIntegrityReply* r) {
  *r = s_->CheckIntegrity(facts_.spool_dir);
  return grpc::Status::OK;
}

}  // namespace vmip
