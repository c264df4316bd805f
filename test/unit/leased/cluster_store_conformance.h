// The contract every ClusterStore implementation must keep (cluster_store.h), as one
// suite that any backend runs: the etcd store against a real etcd, the fake in memory.
// Kea's generic lease-manager tests are the model: the checks know only the
// interface, a backend supplies a factory.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cluster_store.h"

namespace vmip {

// A store for node `node`. Every store one factory makes shares one backend, so two
// nodes see each other's bindings; the node advertises some non-empty peer address.
using ClusterStoreFactory = std::function<std::unique_ptr<ClusterStore>(const std::string& node)>;

// Runs every check below in turn, each on its own network name, so one backend serves
// them all. Fails through Catch2 assertions.
void RunClusterStoreConformance(const ClusterStoreFactory& make);

// The checks one by one, for a backend that can run only some of them.
void CheckClaimOfFreeAddresses(const ClusterStoreFactory& make);
void CheckClaimRefusals(const ClusterStoreFactory& make);
void CheckClaimRaceHasOneWinner(const ClusterStoreFactory& make);
void CheckClaimCarriesTheAttachment(const ClusterStoreFactory& make);
void CheckTakeOverNamesTheRevision(const ClusterStoreFactory& make);
void CheckReleaseNamesTheRevision(const ClusterStoreFactory& make);
void CheckReleaseSeesNewAttachments(const ClusterStoreFactory& make);
void CheckAttachNeedsTheCurrentBinding(const ClusterStoreFactory& make);
void CheckDetachNamesOwnerAndToken(const ClusterStoreFactory& make);
void CheckWatchReportsBindAndFree(const ClusterStoreFactory& make);
void CheckNodesListsLiveNodes(const ClusterStoreFactory& make);

}  // namespace vmip
