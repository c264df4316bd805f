// LeaseService::LearnOwnerUid on a real SQLite file (Kubernetes mode, README "UID
// learning"): only a VM lease the pod-name rule named without a UID learns one, once,
// with a uid-learned history event; args.cni.vm leases and leases that have a UID stay.
#include <catch2/catch.hpp>
#include <string>

#include "lease_service.h"
#include "service_test_support.h"

using namespace vmip;

namespace {

struct Service {
  testing::Dir dir;
  std::unique_ptr<LeaseStore> store = std::move(LeaseStore::Open(dir.path + "/leases.db").value());
  LeaseService svc{store.get(), "node-a", [] { return int64_t{1000}; }};

  // ADD then DEL: the VM's lease stays, detached.
  void RunVm(const std::string& cid, const std::string& pod, const std::string& vm_arg) {
    v1::AddRequest add = testing::PodAdd(cid);
    add.mutable_caller()->set_pod_name(pod);
    add.mutable_caller()->set_vm(vm_arg);
    REQUIRE(svc.Add(add).error().code() == 0);
    REQUIRE(svc.Del(testing::PodDel(cid)).error().code() == 0);
  }
  // "source uid" of owner's lease.
  std::string Identity(const std::string& owner) {
    v1::ListLeasesReply leases = svc.ListLeases(v1::ListLeasesRequest{});
    for (const v1::Lease& l : leases.leases())
      if (l.owner() == owner) return l.identity_source() + " " + l.owner_uid();
    return "no lease";
  }
  int UidLearnedEvents(const std::string& vm) {
    v1::HistoryRequest req;
    req.set_vm(vm);
    int n = 0;
    v1::HistoryReply history = svc.History(req);
    for (const v1::Event& e : history.events()) n += e.kind() == "uid-learned";
    return n;
  }
};

}  // namespace

TEST_CASE("a pod-name-rule VM lease learns its UID once, args and UID leases are left alone") {
  Service s;
  REQUIRE(s.svc.Load().code == 0);
  s.RunVm("c1", "virt-launcher-vm1-abcde", "");
  s.RunVm("c2", "virt-launcher-x-abcde", "vm2");  // args.cni.vm
  REQUIRE(s.Identity("default/vm1") == "pod-name ");
  REQUIRE(s.Identity("default/vm2") == "args ");

  CHECK(s.svc.LearnOwnerUid("default/vm1", "uid-1").code == 0);
  CHECK(s.Identity("default/vm1") == "pod-name uid-1");
  CHECK(s.UidLearnedEvents("default/vm1") == 1);

  // A lease that has a UID keeps it: another object of that name is another owner.
  CHECK(s.svc.LearnOwnerUid("default/vm1", "uid-other").code == 0);
  CHECK(s.Identity("default/vm1") == "pod-name uid-1");
  CHECK(s.UidLearnedEvents("default/vm1") == 1);

  // args.cni.vm names stay the operator's, even when the API has that name.
  CHECK(s.svc.LearnOwnerUid("default/vm2", "uid-2").code == 0);
  CHECK(s.Identity("default/vm2") == "args ");
  CHECK(s.UidLearnedEvents("default/vm2") == 0);

  Error empty = s.svc.LearnOwnerUid("default/vm1", "");
  CHECK(empty.code == kInvalidConfig);
  CHECK(empty.msg.find("default/vm1") != std::string::npos);
}
