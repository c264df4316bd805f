// Who owns an address: the identity rules of owner.h, one case per rule.
#include "owner.h"

#include <catch2/catch.hpp>

using namespace vmip;

namespace {

v1::Caller Caller(const std::string& ns, const std::string& pod, const std::string& vm = "") {
  v1::Caller c;
  c.set_container_id("cid-1");
  c.set_pod_namespace(ns);
  c.set_pod_name(pod);
  c.set_vm(vm);
  return c;
}

// "virt-launcher-" + vm + "-" + 5 random characters, as KubeVirt's generateName gives
// before Kubernetes cuts it.
std::string LauncherPod(const std::string& vm) {
  return "virt-launcher-" + vm + "-x7k2q";
}

std::string Describe(const Result<Owner>& r) {
  return r.ok() ? r.value().Describe() : "error " + std::to_string(r.error().code);
}

}  // namespace

TEST_CASE("owner: virt-launcher-<vm>-<5> is VM <namespace>/<vm>") {
  CHECK(Describe(ResolveOwner(Caller("prod", LauncherPod("db1")))) == "vm prod/db1");
}

TEST_CASE("owner: any other pod name is the pod, keyed by container ID") {
  CHECK(Describe(ResolveOwner(Caller("prod", "nginx-6d4cf56db6-x2x9z"))) == "pod cid-1");
  CHECK(Describe(ResolveOwner(Caller("prod", "virt-launcher-db1"))) == "pod cid-1");
  CHECK(Describe(ResolveOwner(Caller("", ""))) == "pod cid-1");
}

TEST_CASE("owner: no K8S_POD_NAMESPACE (podman) puts the VM in the default namespace") {
  CHECK(Describe(ResolveOwner(Caller("", LauncherPod("db1")))) == "vm default/db1");
  CHECK(Describe(ResolveOwner(Caller("", "", "db2"))) == "vm default/db2");
  CHECK(std::string(kDefaultNamespace) == "default");
}

TEST_CASE("owner: the explicit VM name wins over the pod name") {
  CHECK(Describe(ResolveOwner(Caller("prod", LauncherPod("db1"), "web"))) == "vm prod/web");
  CHECK(Describe(ResolveOwner(Caller("prod", LauncherPod("db1"), "other/web"))) == "vm other/web");
}

TEST_CASE("owner: a 62-character launcher pod name is still parsed") {
  std::string vm(42, 'a');
  REQUIRE(LauncherPod(vm).size() == 62);
  CHECK(Describe(ResolveOwner(Caller("prod", LauncherPod(vm)))) == "vm prod/" + vm);
}

TEST_CASE("owner: a 63-character launcher pod name may be cut and is refused, code 7") {
  // Two VMs whose names differ only after the cut arrive with one 58-character prefix.
  const std::string prefix = "virt-launcher-tenant-acme-production-database-cluster-abc-";
  REQUIRE(prefix.size() == 58);
  for (const std::string& pod : {prefix + "b7x9q", prefix + "k2m4z"}) {
    auto r = ResolveOwner(Caller("prod", pod));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == 7);
    CHECK_THAT(r.error().msg, Catch::Contains(pod) && Catch::Contains("cut") &&
                                  Catch::Contains("63") && Catch::Contains("args.cni.vm") &&
                                  Catch::Contains("VMIP_VM"));
  }
}

TEST_CASE("owner: a cut that did not land on a dash is refused, not taken for a pod") {
  std::string pod = "virt-launcher-tenant-acme-production-database-cluster-abcdx7k2q";
  REQUIRE(pod.size() == 63);
  auto r = ResolveOwner(Caller("prod", pod));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == 7);
}

TEST_CASE("owner: a VM name of exactly 43 characters is ambiguous too") {
  std::string vm(43, 'b');
  REQUIRE(LauncherPod(vm).size() == 63);
  CHECK(Describe(ResolveOwner(Caller("prod", LauncherPod(vm)))) == "error 7");
  CHECK(Describe(ResolveOwner(Caller("prod", LauncherPod(vm), vm))) == "vm prod/" + vm);
}

TEST_CASE("owner: only launcher pods are affected by the 63-character rule") {
  std::string pod = "web-" + std::string(53, 'c') + "-x7k2q";
  REQUIRE(pod.size() == 63);
  CHECK(Describe(ResolveOwner(Caller("prod", pod))) == "pod cid-1");
  std::string longer = LauncherPod(std::string(50, 'd'));  // named by hand, never generated
  CHECK(Describe(ResolveOwner(Caller("prod", longer))) == "vm prod/" + std::string(50, 'd'));
}

TEST_CASE("owner: invalid names from either source are code 7") {
  CHECK(Describe(ResolveOwner(Caller("prod", "", "Bad_VM"))) == "error 7");
  CHECK(Describe(ResolveOwner(Caller("NS!", LauncherPod("db1")))) == "error 7");
}
