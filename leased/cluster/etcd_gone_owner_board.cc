#include "etcd_gone_owner_board.h"

#include "decision_log.h"

namespace vmip {
namespace {

const std::string kKube = "/vmip/v1/kube/";

std::string Tail(const OwnerUid& o) {
  return o.kind + ":" + o.owner + "/" + o.uid;
}
std::string HeldPrefix(const std::string& node) {
  return kKube + "held/" + (node.empty() ? "" : node + "/");
}
std::string GoneKey(const OwnerUid& o) {
  return kKube + "gone/" + Tail(o);
}

// "<kind>:<namespace>/<name>/<uid>" (UIDs have no '/').
std::optional<OwnerUid> ParseTail(const std::string& tail) {
  size_t colon = tail.find(':'), slash = tail.rfind('/');
  if (colon == std::string::npos || slash == std::string::npos || slash <= colon) return {};
  return OwnerUid{tail.substr(0, colon), tail.substr(colon + 1, slash - colon - 1),
                  tail.substr(slash + 1)};
}

}  // namespace

std::string KubeLeaderKey() {
  return kKube + "leader";
}

Result<std::set<OwnerUid>> EtcdGoneOwnerBoard::Held(const std::string& node) {
  std::string prefix = HeldPrefix(node);
  auto r = etcd_->Range(prefix, true);
  if (!r.ok()) return r.error();
  std::set<OwnerUid> out;
  for (const auto& kv : r.value().kvs()) {
    std::string tail = kv.key().substr(prefix.size());
    if (node.empty()) tail = tail.substr(tail.find('/') + 1);  // past "<node>/"
    if (auto o = ParseTail(tail)) out.insert(*o);
  }
  return out;
}

Result<std::map<OwnerUid, EventKind>> EtcdGoneOwnerBoard::Verdicts() {
  std::string prefix = kKube + "gone/";
  auto r = etcd_->Range(prefix, true);
  if (!r.ok()) return r.error();
  std::map<OwnerUid, EventKind> out;
  for (const auto& kv : r.value().kvs()) {
    auto o = ParseTail(kv.key().substr(prefix.size()));
    auto reason = ParseEventKind(kv.value());
    if (o && reason) out[*o] = *reason;
  }
  return out;
}

Result<std::vector<OwnerUid>> EtcdGoneOwnerBoard::Candidates() {
  auto held = Held("");
  if (!held.ok()) return held.error();
  auto verdicts = Verdicts();
  if (!verdicts.ok()) return verdicts.error();
  std::vector<OwnerUid> out;
  for (const OwnerUid& o : held.value())
    if (!verdicts.value().count(o)) out.push_back(o);
  return out;
}

Error EtcdGoneOwnerBoard::OwnerGone(const OwnerUid& o, EventKind reason) {
  if (!election_->leading())
    return MakeError(kTryAgainLater, "not the elected Kubernetes releaser (any more)");
  etcdserverpb::TxnRequest txn;
  election_->RequireLeading(&txn);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(GoneKey(o));
  put->set_value(EventKindName(reason));
  auto r = etcd_->Txn(txn);
  if (!r.ok()) return r.error();
  if (!r.value().succeeded())
    return MakeError(kTryAgainLater, "lost the Kubernetes releaser election before the verdict");
  Log(LogLevel::kInfo, "op=owner-verdict" + Field("owner", o.kind + ":" + o.owner) +
                           Field("uid", o.uid) + Field("reason", EventKindName(reason)));
  return Error{};
}

Error EtcdGoneOwnerBoard::PublishHeld(const std::set<OwnerUid>& local) {
  auto published = Held(service_->node());
  if (!published.ok()) return published.error();
  std::string prefix = HeldPrefix(service_->node());
  for (const OwnerUid& o : local)
    if (!published.value().count(o))
      if (Error e = etcd_->Put(prefix + Tail(o), "", 0); e.code) return e;
  for (const OwnerUid& o : published.value())
    if (!local.count(o))
      if (Error e = etcd_->Delete(prefix + Tail(o)); e.code) return e;
  return Error{};
}

void EtcdGoneOwnerBoard::DropSettled(const std::map<OwnerUid, EventKind>& verdicts) {
  auto held = Held("");
  if (!held.ok()) return;
  for (const auto& [o, reason] : verdicts) {
    if (held.value().count(o)) continue;
    etcdserverpb::TxnRequest txn;
    election_->RequireLeading(&txn);
    txn.add_success()->mutable_request_delete_range()->set_key(GoneKey(o));
    auto r = etcd_->Txn(txn);
    if (r.ok() && r.value().succeeded())
      Log(LogLevel::kInfo, "op=owner-verdict-settled" + Field("owner", o.kind + ":" + o.owner) +
                               Field("uid", o.uid));
  }
}

void EtcdGoneOwnerBoard::Follow() {
  auto mine = service_->OwnerUids();
  if (!mine.ok()) return;
  std::set<OwnerUid> local(mine.value().begin(), mine.value().end());
  if (Error e = PublishHeld(local); e.code)
    Log(LogLevel::kWarn, "op=owner-held msg=\"" + e.msg + "\"");
  auto verdicts = Verdicts();
  if (!verdicts.ok()) return;
  for (const auto& [o, reason] : verdicts.value()) {
    if (!local.count(o)) continue;
    auto kind = ParseOwnerKind(o.kind);
    if (!kind) continue;
    if (Error e = service_->ReleaseGone(*kind, o.owner, o.uid, reason); e.code)
      Log(LogLevel::kWarn,
          "op=release-gone" + Field("owner", o.kind + ":" + o.owner) + " msg=\"" + e.msg + "\"");
  }
  if (election_->leading()) DropSettled(verdicts.value());
}

}  // namespace vmip
