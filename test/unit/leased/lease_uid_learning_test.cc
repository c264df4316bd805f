// LeaseService::LearnOwnerUid on a real SQLite file (Kubernetes mode, README "UID
// learning"): only a VM lease the pod-name rule named without a UID learns one, once,
// with a uid-learned history event; args.cni.vm leases and leases that have a UID stay.
#include <catch2/catch.hpp>
#include <string>

#include "gone_owner_board.h"
#include "lease_service.h"
#include "service_test_support.h"

using namespace vmip;

namespace {

struct Service {
  testing::Dir dir;
  std::unique_ptr<LeaseStore> store = std::move(LeaseStore::Open(dir.path + "/leases.db").value());
  LeaseService svc{store.get(), "node-a", [] { return int64_t{1000}; }};

  // ADD then DEL: the VM's lease stays, detached.
  void RunVm(const std::string& cid, const std::string& pod, const std::string& vm_arg,
             const std::string& ifname = "eth0") {
    v1::AddRequest add = testing::PodAdd(cid);
    add.mutable_caller()->set_ifname(ifname);
    add.mutable_caller()->set_pod_name(pod);
    add.mutable_caller()->set_vm(vm_arg);
    REQUIRE(svc.Add(add).error().code() == 0);
    v1::DelRequest del = testing::PodDel(cid);
    del.mutable_caller()->set_ifname(ifname);
    REQUIRE(svc.Del(del).error().code() == 0);
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

// The deletion releaser reads these once a second instead of every lease.
TEST_CASE("the releaser's reads: VMs still to learn a UID, each owner with its UID once") {
  Service s;
  REQUIRE(s.svc.Load().code == 0);
  s.RunVm("c1", "virt-launcher-vm1-abcde", "");
  s.RunVm("c1b", "virt-launcher-vm1-abcde", "", "net1");  // a second interface of vm1
  s.RunVm("c2", "virt-launcher-x-abcde", "vm2");          // args.cni.vm: never learns
  s.RunVm("c3", "virt-launcher-vm3-abcde", "");
  REQUIRE(s.svc.Add(testing::PodAdd("c4")).error().code() == 0);  // a pod: in neither list

  auto learn = s.svc.VmsWithoutUid();
  REQUIRE(learn.ok());
  CHECK(learn.value() == std::vector<std::string>{"default/vm1", "default/vm3"});
  auto owners = s.svc.OwnerUids();
  REQUIRE(owners.ok());
  CHECK(owners.value().empty());

  REQUIRE(s.svc.LearnOwnerUid("default/vm1", "uid-1").code == 0);
  CHECK(s.svc.VmsWithoutUid().value() == std::vector<std::string>{"default/vm3"});
  owners = s.svc.OwnerUids();
  REQUIRE(owners.ok());
  REQUIRE(owners.value().size() == 1);  // both of vm1's leases: one owner, one UID
  CHECK(owners.value()[0].kind == "vm");
  CHECK(owners.value()[0].owner == "default/vm1");
  CHECK(owners.value()[0].uid == "uid-1");
}
