#include "kube_mode.h"

#include "decision_log.h"

namespace vmip {

KubeMode::KubeMode(KubeConfig config, LeaseService* service)
    : service_(service), client_(std::move(config)), identity_(&client_) {}

KubeMode::~KubeMode() {
  client_.Stop();     // ends open watches now, not at their timeout
  releaser_.reset();  // stops its threads before the client goes
  service_->SetIdentitySource(nullptr);
}

void KubeMode::AddStatus(v1::DaemonStatusReply* reply) {
  v1::KubernetesStatus* k = reply->mutable_kubernetes();
  k->set_server(client_.config().server);
  k->set_api(client_.LastOutcome());
  if (!releaser_) return;
  k->set_releaser(board_->leader());
  k->set_releasing(board_->leading());
  for (const auto& [name, s] : releaser_->States()) {
    v1::KubernetesSync* out = k->add_resources();
    out->set_resource(name);
    out->set_synced(s.synced);
    out->set_last_sync(s.last_sync);
    out->set_lists(s.lists);
    out->set_last_error(s.last_error);
  }
}

Result<std::unique_ptr<KubeMode>> KubeMode::Start(const KubeOptions& o, LeaseService* service) {
  auto config = o.kubeconfig.empty() ? InClusterConfig() : LoadKubeconfig(o.kubeconfig);
  if (!config.ok()) return config.error();
  std::unique_ptr<KubeMode> mode(new KubeMode(config.value(), service));
  service->SetIdentitySource(&mode->identity_);
  if (o.release_deleted) {
    mode->board_ = o.board;
    if (!mode->board_) {
      mode->local_board_ = std::make_unique<LocalGoneOwnerBoard>(service);
      mode->board_ = mode->local_board_.get();
    }
    mode->releaser_ = std::make_unique<DeletionReleaser>(mode->board_, o.board ? nullptr : service,
                                                         &mode->client_, o.release_grace_seconds,
                                                         o.watch_timeout_seconds, o.hooks);
    mode->releaser_->Start();
  }
  Log(LogLevel::kInfo, "op=kubernetes" + Field("server", config.value().server) +
                           Field("config", config.value().source) +
                           Field("release_grace", std::to_string(o.release_grace_seconds) + "s") +
                           Field("release_deleted", !o.release_deleted ? "no"
                                                    : o.board          ? "elected"
                                                                       : "yes"));
  return mode;
}

}  // namespace vmip
