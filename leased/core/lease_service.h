// The daemon's decisions: ADD/DEL/CHECK/GC/STATUS for the plugin and the views for
// vmipctl. One mutex serialises them (a cluster ADD's etcd calls run outside it,
// under a per-owner lock: lease_add_cluster.cc); each change is one SQLite
// transaction (ADDs and DELs that arrive together share one, commit_group.h); the
// in-memory allocator is updated only after a request's part of it succeeded, and
// rebuilt from the table if the transaction then fails to commit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "add_context.h"
#include "allocator.h"
#include "cluster_coordinator.h"
#include "commit_group.h"
#include "error.h"
#include "identity_source.h"
#include "lease_store.h"
#include "network_state.h"
#include "owner.h"
#include "owner_locks.h"
#include "pool.h"
#include "release_observer.h"
#include "store_transaction.h"
#include "vmip.pb.h"

namespace vmip {

struct OwnerUid;  // gone_owner_board.h

// The addresses an ADD asks for, one per range set of `pool` (an unset entry means
// "any"): the CNI call's request wins over the pod's annotations.
Result<std::vector<IpAddress>> RequestedIps(const Pool& pool, const v1::AddRequest& req,
                                            const Identity& identity);

// Cluster mode: the owner-lock key (owner_locks.h) of one container's attachment;
// its ADD and its DEL both take it.
std::string ContainerLockKey(const v1::Caller& c);

class LeaseService {
 public:
  using Clock = std::function<int64_t()>;  // unix seconds

  LeaseService(LeaseStore* store, std::string node, Clock clock);

  // Rebuilds pools and free sets from the database. Call once before serving.
  Error Load();

  v1::AddReply Add(const v1::AddRequest& req);
  v1::DelReply Del(const v1::DelRequest& req);
  v1::CheckReply Check(const v1::CheckRequest& req);
  v1::GcReply Gc(const v1::GcRequest& req);
  v1::StatusReply Status(const v1::StatusRequest& req);

  v1::ListLeasesReply ListLeases(const v1::ListLeasesRequest& req);
  v1::ListPoolsReply ListPools();
  // Leases per network and state, for the metrics' pool gauges (lease_counts.cc).
  Result<std::vector<LeaseCount>> CountLeasesByState();
  // check_ready: also read the cluster store once (code 11 when it cannot be reached).
  v1::DaemonStatusReply DaemonStatus(bool check_ready = false);
  v1::HistoryReply History(const v1::HistoryRequest& req);

  // ADDs and DELs that arrive together share one commit (commit_group.h); tests
  // hold it to form a group of a known size.
  CommitGroup& commits() { return commits_; }

  // Admin actions (lease_admin.cc).
  v1::ReserveReply Reserve(const v1::ReserveRequest& req);
  v1::UnreserveReply Unreserve(const v1::UnreserveRequest& req);
  v1::ReleaseReply Release(const v1::ReleaseRequest& req);

  // Kubernetes mode (lease_gone.cc): the detached leases of an owner the API server
  // no longer has, if their stored UID is uid; reason goes into the history.
  // In cluster mode only this node's bindings, through the conditional etcd release.
  Error ReleaseGone(OwnerKind kind, const std::string& owner, const std::string& uid,
                    EventKind reason);
  // Kubernetes mode (lease_uid_learning.cc): the VM leases of owner that the pod-name
  // rule named without a UID (API down at ADD) get uid, a VM's the API now lists.
  Error LearnOwnerUid(const std::string& owner, const std::string& uid);
  // What the deletion releaser reads once a second, cheap at 100,000 leases: every VM
  // and StatefulSet-pod owner with a stored UID (lease_gone.cc), and the VMs whose
  // pod-name-rule leases have no UID yet (lease_uid_learning.cc).
  Result<std::vector<OwnerUid>> OwnerUids();
  Result<std::vector<std::string>> VmsWithoutUid();

  // Compares the table, the free sets and the spool (integrity_check.cc).
  v1::CheckIntegrityReply CheckIntegrity(const std::string& spool_dir);

  const std::string& node() const { return node_; }
  // Seconds a released address is held back even when nothing else is free.
  void SetReuseCooldown(int64_t seconds) { reuse_cooldown_ = seconds; }

  // Lease policies (issue 16), run from the daemon's background loop.
  // A VM binding detached longer than this (per network: ipam.detachedTTL, which
  // wins) is released with an `expire` event; 0 = never (lease_expiry.cc).
  void SetDetachedTtl(int64_t seconds) { detached_ttl_ = seconds; }
  void ExpireDetached();
  // Events older than this are deleted in small batches; 0 = kept forever
  // (history_retention.cc). Returns how many went.
  void SetHistoryRetention(int64_t seconds) { history_retention_ = seconds; }
  int64_t PruneHistory();

  // Cluster mode: what ADD, DEL and release agree with the cluster (cluster/).
  // Standalone by default. It outlives the service; set once before serving.
  void SetCoordinator(ClusterCoordinator* coordinator) { coordinator_ = coordinator; }
  // Kubernetes mode: owners named from the API server. Not owned; outlives the service.
  void SetIdentitySource(IdentitySource* source) { identity_source_ = source; }
  // Told of every lease released back to the pool, with why. Set before serving.
  void SetReleaseObserver(ReleaseObserver* o) { release_observer_ = o; }
  // A second, read-only connection (LeaseStore::OpenReader) for the views that read
  // only the table (ListLeases, History, CountLeasesByState, OwnerUids, VmsWithoutUid):
  // they then never wait for or hold mu_, so vmipctl, a metrics scrape or the
  // Kubernetes releaser on 100,000 leases does not stall ADDs and DELs. Not owned;
  // set before serving. Without it they read the store under mu_.
  void SetViewReader(LeaseStore* reader) { reader_ = reader; }

 private:
  // The cluster coordinator works on this node's table and free sets under mu_,
  // through the members below, exactly as the service's own requests do.
  friend class ClusterStoreCoordinator;
  using Network = NetworkState;
  struct Released {
    Network* net;
    IpAddress ip;
    bool handed_over = false;     // another node holds it now: not free
    std::string ends_lease_on{};  // the network, on the first address of a lease that ended
  };

  // "ip,ip": the addresses a change released, for its log line.
  static std::string IpsOf(const std::vector<Released>& released);

  Result<Network*> NetworkFor(const std::string& name, const v1::PoolConfig& config);
  Result<std::unique_ptr<Network>> BuildNetwork(const std::string& name,
                                                const v1::PoolConfig& config);
  Result<v1::AddReply> AddLocked(const v1::AddRequest& req, const Identity& identity);
  // Cluster mode's ADD in three steps, etcd outside mu_ (lease_add_cluster.cc).
  Result<v1::AddReply> AddClustered(const v1::AddRequest& req, const Identity& identity);
  Result<std::optional<v1::AddReply>> ReadForClusterAdd(AddIntent* in, const Identity& identity);
  Result<v1::AddReply> CommitClusterAdd(const AddIntent& in, const ClusterAddPlan& plan,
                                        AttachmentRow att);
  // With mu_ held: addresses an ADD in flight holds back from the free sets (they
  // survive a rebuild of the network), and gives back.
  void ReserveInFlight(Network& net, const std::vector<AddressRow>& addrs,
                       std::vector<IpAddress>* held);
  void UnreserveInFlight(const std::string& network, std::vector<IpAddress>* held);
  // DEL's part of a commit group; `released` lists the addresses it freed.
  Error DelLocked(const v1::DelRequest& req, bool* detached, std::string* released);
  Result<std::vector<AddressRow>> PickAddresses(Network& net,
                                                const std::vector<IpAddress>& requested);
  Error CheckLeaseFits(Network& net, const LeaseRow& lease,
                       const std::vector<IpAddress>& requested);
  Result<int64_t> BindNew(Network& net, const LeaseRow& lease,
                          const std::vector<AddressRow>& addrs);
  Error Detach(const AttachmentRow& att, std::vector<Released>* released);
  // Deletes the attachment row and, in cluster mode, queues its removal from etcd.
  Error DropAttachment(const AttachmentRow& att, const LeaseRow& lease);
  // Deletes this node's copy of a binding another node adopted; the address stays
  // taken (by that node).
  Error DropHandedOver(const LeaseRow& lease, std::vector<Released>* released);
  // The local part of a release: leases and (with force) their attachments.
  Error ReleaseLocal(const std::vector<LeaseRow>& leases, bool force, bool queue_cluster,
                     std::vector<Released>* released);
  // The lease an ADD attaches to; sets ctx.fresh and ctx.claimed (add_context.h).
  Result<LeaseRow> LeaseForAdd(AddContext& ctx);
  Result<LeaseRow> NewLease(const AddContext& ctx, const std::vector<AddressRow>& addrs,
                            int64_t cluster_revision = 0);
  // The owner's name now belongs to a new Kubernetes object (another UID): the old
  // lease is released, or kept for the new object when the request names its
  // addresses (lease_recreated.cc).
  Error ReleaseIfRecreated(const AddContext& ctx, std::vector<Released>* released);
  // Gives a lease's addresses back: to its reservation if it was claimed from one,
  // else to the pool (recorded as released, for oldest-first reuse).
  Error FreeLease(const LeaseRow& lease, const std::string& container_id,
                  std::vector<Released>* released, bool queue_cluster_release = true,
                  EventKind event_kind = EventKind::kRelease);
  // A detached VM asks for other free addresses: its binding moves there, the old
  // ones are freed (event `move`); refused (106) while attached (lease_move.cc).
  Result<LeaseRow> MoveDetached(AddContext& ctx, LeaseRow lease);
  // lease_expiry.cc: the detached TTL of a network, and one compare-and-delete.
  int64_t DetachedTtlOf(const Network& net) const;
  Error StillDetached(const LeaseRow& seen, int64_t ttl);
  void RestartDetachedClock(const LeaseRow& seen, int64_t at);
  void Expire(const LeaseRow& seen, int64_t ttl);
  // With mu_ held: the conditional etcd release of a detached binding that expiry or a
  // Kubernetes verdict cleared (lease_gone.cc); kLeaseMismatch when it changed.
  Error ReleaseClusterBinding(const LeaseRow& seen, const ExpiryClearance& clearance);
  Error ReleaseGoneInCluster(OwnerKind kind, const std::string& owner, const std::string& uid,
                             EventKind reason);
  Result<LeaseRow> ClaimReservation(const AddContext& ctx);
  // reason: why the leases that ended here ended, for the release observer (none:
  // not counted, e.g. a copy dropped because another node released it).
  void ApplyReleased(const std::vector<Released>& released,
                     std::optional<ReleaseReason> reason = std::nullopt);
  // After a failed transaction that already touched the free sets.
  void RebuildNetwork(const std::string& name);
  v1::AddReply ReplyFor(const Network& net, const LeaseRow& lease) const;
  Error HolderError(const std::string& network, const std::string& ip);

  // fn(store, session) for a table-only view: on the reader under reader_mu_ (its
  // statements are one session too), else on store_ under mu_.
  template <typename Fn>
  auto View(Fn fn) {
    std::unique_lock<std::mutex> lock(reader_ ? reader_mu_ : mu_);
    LeaseStore* s = reader_ ? reader_ : store_;
    ReadSession session(s);
    return fn(s, session);
  }

  LeaseStore* store_;
  LeaseStore* reader_ = nullptr;
  std::mutex reader_mu_;
  std::string node_;
  Clock clock_;
  int64_t started_at_;
  // mu_ guards, for every request and background job alike:
  //  - the store's one SQLite session (store_): every read, transaction and
  //    Idle() happens with mu_ held, so one caller's transaction never sees
  //    another's statements (the table-only views use reader_, a second
  //    connection, under reader_mu_ instead: View());
  //  - networks_ and everything a Network owns (pool, allocator free sets,
  //    config bytes, saved, cluster_synced), so the free sets change only together
  //    with the commit that justifies the change;
  //  - the coordinator's hand-off notice queues (cluster_store_coordinator.h).
  // The cluster store and peers are not guarded by it: quorum reads, outbox
  // replay, attachment resync, hand-off sends and ADD's binding/attach calls
  // (coordinator_->PlanAdd, UndoAdd: under the owner's lock, owner_locks_)
  // run without it (versions and ADD's step 3 re-check what they read); the
  // cluster release's and expiry's compare-and-swap are made while holding it, so
  // they order with local commits.
  // Set once before the daemon serves, then only read: node_, clock_, started_at_,
  // coordinator_, identity_source_, release_observer_, reuse_cooldown_. The coordinator's
  // resync flag belongs to the one thread that runs its Flush().
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Network>> networks_;
  CommitGroup commits_;  // runs ADD and DEL under mu_
  StandaloneCoordinator standalone_;
  ClusterCoordinator* coordinator_ = &standalone_;
  IdentitySource* identity_source_ = nullptr;
  ReleaseObserver* release_observer_ = nullptr;
  int64_t reuse_cooldown_ = 0;
  int64_t detached_ttl_ = 0;         // set once before serving, like reuse_cooldown_
  int64_t history_retention_ = 0;    // idem
  std::vector<Released> moved_out_;  // the ADD in progress: freed by a move once it commits
  // Cluster mode: ADDs and DELs of one owner or container run one at a time; taken
  // before mu_ (owner_locks.h).
  OwnerLocks owner_locks_;
  std::map<std::string, std::multiset<IpAddress>> in_flight_;  // network -> held back
};

}  // namespace vmip
