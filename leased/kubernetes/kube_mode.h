// Kubernetes mode as main.cc starts it: the API client, the identity source the
// lease service asks on ADD, and (when enabled) the watch that releases deleted VMs.
#pragma once

#include <memory>
#include <string>

#include "deletion_releaser.h"
#include "error.h"
#include "kube_client.h"
#include "kube_identity.h"
#include "lease_service.h"

namespace vmip {

struct KubeOptions {
  std::string kubeconfig;  // "" = in-cluster service account
  int64_t release_grace_seconds = 300;
  int watch_timeout_seconds = 300;  // each watch ends (and resumes) within this
  bool release_deleted = true;
  // Who judges and releases deleted owners; null: this daemon alone (standalone).
  // Cluster mode passes the etcd board (elected judge, per-node release).
  GoneOwnerBoard* board = nullptr;
  SyncHooks hooks;  // the informers report to these (metrics)
};

class KubeMode {
 public:
  // Reads the configuration and plugs the identity source into the service.
  static Result<std::unique_ptr<KubeMode>> Start(const KubeOptions& options, LeaseService* service);
  ~KubeMode();
  // For vmipctl status.
  void AddStatus(v1::DaemonStatusReply* reply);

 private:
  KubeMode(KubeConfig config, LeaseService* service);

  LeaseService* service_;
  KubeClient client_;
  KubeIdentitySource identity_;
  std::unique_ptr<GoneOwnerBoard> local_board_;  // standalone
  GoneOwnerBoard* board_ = nullptr;
  std::unique_ptr<DeletionReleaser> releaser_;
};

}  // namespace vmip
