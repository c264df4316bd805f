// Shared by the unit tests that drive a LeaseService on a real SQLite file with an
// injected clock: the service on a scratch directory and the requests the plugin sends.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "lease_service.h"
#include "store_test_support.h"
#include "vmip.pb.h"

namespace vmip::testing {

// One node's LeaseService on leases.db in a scratch directory. Members are destroyed
// in reverse order: the service, then the store, then the directory.
struct ServiceOnDisk {
  Dir scratch;
  std::string dir = scratch.path;
  std::string db = dir + "/leases.db";
  std::unique_ptr<LeaseStore> store;
  std::unique_ptr<LeaseService> svc;
  int64_t now = 1000;  // the service's clock: a test moves it by assignment

  ServiceOnDisk() { Open(); }
  // Closes and reopens the database, as a daemon restart does.
  void Open() {
    svc.reset();
    store.reset();
    store = std::move(LeaseStore::Open(db).value());
    svc = std::make_unique<LeaseService>(store.get(), "node-a", [this] { return now; });
    REQUIRE(svc->Load().code == 0);
  }
  int64_t Rows(const std::string& table) { return store->Count(table).value(); }
};

inline v1::PoolConfig Pool1(const std::string& subnet = "10.9.0.0/24") {
  v1::PoolConfig c;
  c.add_range_sets()->add_ranges()->set_subnet(subnet);
  return c;
}

// An ADD on net1 from pod default/<pod>: a VM when pod is virt-launcher-<vm>-xxxxx.
inline v1::AddRequest Add(const std::string& cid, const std::string& pod,
                          const v1::PoolConfig& pool = Pool1()) {
  v1::AddRequest r;
  auto* c = r.mutable_caller();
  c->set_network("net1");
  c->set_container_id(cid);
  c->set_ifname("eth0");
  c->set_netns("/run/netns/" + cid);
  c->set_pod_namespace("default");
  c->set_pod_name(pod);
  *r.mutable_pool() = pool;
  return r;
}

// An ADD from a plain pod (no VM) named after its container.
inline v1::AddRequest PodAdd(const std::string& cid) {
  return Add(cid, "web-" + cid);
}

inline v1::DelRequest Del(const std::string& cid) {
  v1::DelRequest r;
  r.mutable_caller()->set_network("net1");
  r.mutable_caller()->set_container_id(cid);
  r.mutable_caller()->set_ifname("eth0");
  return r;
}
inline v1::DelRequest PodDel(const std::string& cid) {
  return Del(cid);
}

// The first address of a successful ADD.
inline std::string Ip(const v1::AddReply& r) {
  REQUIRE(r.error().code() == 0);
  return r.ips(0).address();
}

}  // namespace vmip::testing
