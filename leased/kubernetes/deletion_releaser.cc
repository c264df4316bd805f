#include "deletion_releaser.h"

#include <ctime>
#include <set>

#include "decision_log.h"
#include "lease_service.h"

namespace vmip {
namespace {

std::string Uid(const Json& obj) {
  return obj.value("metadata", Json::object()).value("uid", "");
}

// A StatefulSet is remembered as "<uid> <spec.replicas>".
std::string UidAndReplicas(const Json& obj) {
  const Json& spec = obj.value("spec", Json::object());
  int64_t replicas = spec.contains("replicas") && spec["replicas"].is_number_integer()
                         ? spec["replicas"].get<int64_t>()
                         : 1;  // the API's default
  return Uid(obj) + " " + std::to_string(replicas);
}

}  // namespace

DeletionReleaser::DeletionReleaser(GoneOwnerBoard* board, LeaseService* uid_learner,
                                   KubeClient* client, int64_t grace_seconds,
                                   int watch_timeout_seconds, const SyncHooks& hooks)
    : board_(board), uid_learner_(uid_learner), client_(client), grace_(grace_seconds) {
  informers_.push_back(std::make_unique<Informer>(client, "virtualmachines",
                                                  "/apis/kubevirt.io/v1/virtualmachines", Uid,
                                                  watch_timeout_seconds, hooks));
  informers_.push_back(std::make_unique<Informer>(client, "virtualmachineinstances",
                                                  "/apis/kubevirt.io/v1/virtualmachineinstances",
                                                  Uid, watch_timeout_seconds, hooks));
  informers_.push_back(std::make_unique<Informer>(client, "statefulsets",
                                                  "/apis/apps/v1/statefulsets", UidAndReplicas,
                                                  watch_timeout_seconds, hooks));
}

DeletionReleaser::~DeletionReleaser() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  informers_.clear();  // each joins its own thread
}

void DeletionReleaser::Start() {
  for (auto& i : informers_) i->Start();
  thread_ = std::thread([this] { Run(); });
}

std::vector<std::pair<std::string, InformerState>> DeletionReleaser::States() {
  std::vector<std::pair<std::string, InformerState>> out;
  for (auto& i : informers_) out.emplace_back(i->name(), i->State());
  return out;
}

void DeletionReleaser::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
    lock.unlock();
    Reconcile(static_cast<int64_t>(time(nullptr)));
    lock.lock();
  }
}

std::optional<EventKind> DeletionReleaser::GoneReason(const OwnerUid& l) {
  const std::string& uid = l.uid;
  if (l.kind == "vm") {
    auto vm = vms_.find(l.owner);
    auto vmi = vmis_.find(l.owner);
    bool there =
        (vm != vms_.end() && vm->second == uid) || (vmi != vmis_.end() && vmi->second == uid);
    if (there) return std::nullopt;
    return EventKind::kVmDeleted;
  }
  // "namespace/<set>-<ordinal>"
  size_t dash = l.owner.rfind('-');
  if (dash == std::string::npos) return std::nullopt;
  auto set = sets_.find(l.owner.substr(0, dash));
  if (set == sets_.end() || set->second.rfind(uid + " ", 0) != 0)
    return EventKind::kStatefulSetDeleted;
  int64_t replicas = std::stoll(set->second.substr(uid.size() + 1));
  int64_t ordinal = atoll(l.owner.c_str() + dash + 1);
  if (ordinal < replicas) return std::nullopt;
  return EventKind::kStatefulSetScaledDown;
}

bool DeletionReleaser::ConfirmedGone(const OwnerUid& l) {
  size_t slash = l.owner.find('/');
  std::string ns = l.owner.substr(0, slash), name = l.owner.substr(slash + 1);
  std::vector<std::string> paths;
  if (l.kind == "vm") {
    paths = {"/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachines/" + name,
             "/apis/kubevirt.io/v1/namespaces/" + ns + "/virtualmachineinstances/" + name};
  } else {
    paths = {"/apis/apps/v1/namespaces/" + ns + "/statefulsets/" + name.substr(0, name.rfind('-'))};
  }
  for (const std::string& path : paths) {
    auto obj = client_->Get(path);
    if (!obj.ok()) return false;
    if (!obj.value() || Uid(*obj.value()) != l.uid) continue;
    if (l.kind == "vm") return false;  // still there
    std::string kept = UidAndReplicas(*obj.value());
    if (atoll(name.c_str() + name.rfind('-') + 1) < std::stoll(kept.substr(kept.find(' ') + 1)))
      return false;  // scaled back up
  }
  return true;
}

void DeletionReleaser::LearnUids() {
  auto owners = uid_learner_->VmsWithoutUid();
  if (!owners.ok()) return;
  for (const std::string& owner : owners.value()) {
    // The VM's UID, else the VMI's when it has no VM: what an ADD would have stored.
    auto vm = vms_.find(owner);
    auto vmi = vmis_.find(owner);
    std::string uid = vm != vms_.end() ? vm->second : vmi != vmis_.end() ? vmi->second : "";
    if (uid.empty()) continue;  // a name the API does not have: left as it is
    Error e = uid_learner_->LearnOwnerUid(owner, uid);
    if (e.code)
      Log(LogLevel::kWarn,
          "op=uid-learned" + Field("owner", "vm:" + owner) + " msg=\"" + e.msg + "\"");
  }
}

void DeletionReleaser::Reconcile(int64_t now) {
  // Not the judge (cluster mode, another daemon leads): a grace counted here would be
  // stale when this daemon takes over, so it starts afresh then.
  if (!board_->leading()) return absent_since_.clear();
  for (auto& i : informers_) {
    InformerState s = i->State();
    if (!s.synced || !s.last_error.empty()) return;  // never judge from a failed list
  }
  vms_ = informers_[0]->Objects();
  vmis_ = informers_[1]->Objects();
  sets_ = informers_[2]->Objects();
  if (uid_learner_) LearnUids();
  auto owners = board_->Candidates();
  if (!owners.ok()) return;
  std::set<std::string> seen;
  for (const OwnerUid& l : owners.value()) {
    if ((l.kind != "vm" && l.kind != "sts") || l.uid.empty()) continue;
    std::string key = l.kind + ":" + l.owner + " " + l.uid;
    std::optional<EventKind> reason = GoneReason(l);
    if (!reason) continue;
    seen.insert(key);
    auto [it, fresh] = absent_since_.emplace(key, now);
    if (fresh)
      Log(LogLevel::kInfo, "op=owner-gone" + Field("owner", l.kind + ":" + l.owner) +
                               Field("uid", l.uid) + Field("reason", EventKindName(*reason)) +
                               Field("release_in", std::to_string(grace_) + "s"));
    if (now - it->second < grace_ || !ConfirmedGone(l)) continue;
    if (Error e = board_->OwnerGone(l, *reason); e.code)
      Log(LogLevel::kWarn, "op=release-gone" + Field("owner", l.owner) + " msg=\"" + e.msg + "\"");
  }
  // An owner that came back (or whose lease is gone) starts its grace afresh.
  for (auto it = absent_since_.begin(); it != absent_since_.end();)
    it = seen.count(it->first) ? std::next(it) : absent_since_.erase(it);
}

}  // namespace vmip
