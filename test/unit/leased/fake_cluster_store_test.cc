// The in-memory fake passes the same ClusterStore conformance suite as the etcd store,
// so tests that use it test against the contract, not against the fake's whims.
#include "fake_cluster_store.h"

#include <catch2/catch.hpp>

#include "cluster_store_conformance.h"

using namespace vmip;

TEST_CASE("cluster store conformance: fake") {
  FakeClusterBackend backend;
  RunClusterStoreConformance(
      [&](const std::string& node) { return backend.StoreFor(node, node + ":7070"); });
}
