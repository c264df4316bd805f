// Releases the addresses of VMs (and StatefulSet pods) that Kubernetes deleted: one
// informer each for VirtualMachines, VirtualMachineInstances (a VMI without a VM owns
// its addresses itself) and StatefulSets; every second each owner with a stored UID
// that the board names (standalone: this daemon's leases; cluster: every node's) is
// checked against them. An owner absent (same UID nowhere: deleted by watch event, or
// missing from a complete relist) for the whole grace, and confirmed by a direct GET,
// goes to the board as gone: standalone the lease service releases it (comparing the
// UID again in its transaction); in cluster mode only the elected daemon judges, and
// each node releases its own leases (cluster/gone_owner_publisher.h). Every daemon runs
// the informers, so one that takes over the judging has them synced already. Nothing is judged
// while any list fails or has not completed (KubeVirt API absent, 401/403/500, unreachable): the
// informer is not "synced" then.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gone_owner_board.h"
#include "informer.h"

namespace vmip {

class DeletionReleaser {
 public:
  // uid_learner: the service whose UID-less pod-name leases learn their VM's UID from
  // the lists; null turns that off (cluster mode: not done there yet).
  DeletionReleaser(GoneOwnerBoard* board, LeaseService* uid_learner, KubeClient* client,
                   int64_t grace_seconds, int watch_timeout_seconds, const SyncHooks& hooks = {});
  ~DeletionReleaser();
  void Start();
  // For vmipctl status: one entry per resource.
  std::vector<std::pair<std::string, InformerState>> States();

 private:
  void Run();
  void Reconcile(int64_t now);
  // VM leases the pod-name rule named while the API was down get the UID the lists
  // show for that name, so the deletion rules can apply to them.
  void LearnUids();
  // Nothing when the owner is still there, else why it is gone.
  std::optional<EventKind> GoneReason(const OwnerUid& owner);
  // Before a release, the API server itself is asked (a watch may lag behind a
  // just-created VM): true only when the answers say gone; an error says no.
  bool ConfirmedGone(const OwnerUid& owner);

  GoneOwnerBoard* board_;
  LeaseService* uid_learner_;  // null: no UID learning
  KubeClient* client_;
  const int64_t grace_;
  std::vector<std::unique_ptr<Informer>> informers_;      // vms, vmis, statefulsets
  std::map<std::string, std::string> vms_, vmis_, sets_;  // snapshot of one round
  std::map<std::string, int64_t> absent_since_;           // "kind:owner uid" -> first seen gone
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vmip
