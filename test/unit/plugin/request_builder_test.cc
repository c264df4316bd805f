#include "request_builder.h"

#include <catch2/catch.hpp>

using namespace vmip::cni;

namespace {

Invocation MakeInvocation(const std::string& conf, const std::string& cni_args,
                          Command cmd = Command::kAdd) {
  Invocation in;
  in.env.command = cmd;
  in.env.container_id = "cid1";
  in.env.ifname = "net1";
  in.env.netns = "/run/netns/x";
  in.env.args = cni_args;
  in.args = ParseCniArgs(cni_args);
  REQUIRE(ParseNetConfig(conf, cmd, &in.config).ok());
  return in;
}

std::string Conf(const std::string& extra) {
  return R"({"cniVersion":"1.0.0","name":"net1","ipam":{"subnet":"10.0.0.0/24"})" + extra + "}";
}

using Ips = std::vector<std::string>;

}  // namespace

TEST_CASE("CFG-7 runtimeConfig.ips wins over args.cni.ips and CNI_ARGS IP") {
  auto in = MakeInvocation(
      Conf(R"(,"runtimeConfig":{"ips":["10.0.0.9/24"]},"args":{"cni":{"ips":["10.0.0.8"]}})"),
      "IP=10.0.0.7");
  CHECK(ResolveRequestedIps(in.config, in.args) == Ips{"10.0.0.9/24"});
}

TEST_CASE("CFG-8 args.cni.ips wins over CNI_ARGS IP") {
  auto in =
      MakeInvocation(Conf(R"(,"args":{"cni":{"ips":["10.0.0.8","fd00::8"]}})"), "IP=10.0.0.7");
  CHECK(ResolveRequestedIps(in.config, in.args) == Ips{"10.0.0.8", "fd00::8"});
}

TEST_CASE("CFG-8 a present but empty args.cni.ips still overrides CNI_ARGS IP") {
  auto in = MakeInvocation(Conf(R"(,"args":{"cni":{"ips":[]}})"), "IP=10.0.0.7");
  CHECK(ResolveRequestedIps(in.config, in.args).empty());
}

TEST_CASE("CFG-7 empty runtimeConfig.ips falls through to args.cni.ips") {
  auto in = MakeInvocation(
      Conf(R"(,"runtimeConfig":{"ips":[]},"args":{"cni":{"ips":["10.0.0.8"]}})"), "");
  CHECK(ResolveRequestedIps(in.config, in.args) == Ips{"10.0.0.8"});
}

TEST_CASE("ARG CNI_ARGS IP is comma-separated") {
  auto in = MakeInvocation(Conf(""), "IgnoreUnknown=1;IP=10.0.0.7,fd00::7/64");
  CHECK(ResolveRequestedIps(in.config, in.args) == Ips{"10.0.0.7", "fd00::7/64"});
}

TEST_CASE("no requested IPs anywhere gives none") {
  auto in = MakeInvocation(Conf(""), "K8S_POD_NAME=p");
  CHECK(ResolveRequestedIps(in.config, in.args).empty());
}

TEST_CASE("ARG-4 caller carries env and Kubernetes CNI_ARGS facts") {
  auto in =
      MakeInvocation(Conf(""),
                     "IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=virt-launcher-vm1-"
                     "abcde;K8S_POD_INFRA_CONTAINER_ID=cid1;K8S_POD_UID=uid-1");
  vmip::v1::Caller c = BuildCaller(in);
  CHECK(c.network() == "net1");
  CHECK(c.container_id() == "cid1");
  CHECK(c.ifname() == "net1");
  CHECK(c.netns() == "/run/netns/x");
  CHECK(c.pod_namespace() == "ns1");
  CHECK(c.pod_name() == "virt-launcher-vm1-abcde");
  CHECK(c.pod_uid() == "uid-1");
  CHECK(c.vm().empty());
  CHECK(c.reservation().empty());
}

TEST_CASE("args.cni.vm and reservation win over VMIP_VM and VMIP_RESERVATION") {
  auto in = MakeInvocation(Conf(R"(,"args":{"cni":{"vm":"ns/a","reservation":"r-a"}})"),
                           "VMIP_VM=b;VMIP_RESERVATION=r-b");
  CHECK(BuildCaller(in).vm() == "ns/a");
  CHECK(BuildCaller(in).reservation() == "r-a");
  auto in2 = MakeInvocation(Conf(""), "VMIP_VM=b;VMIP_RESERVATION=r-b");
  CHECK(BuildCaller(in2).vm() == "b");
  CHECK(BuildCaller(in2).reservation() == "r-b");
}

TEST_CASE("AddRequest carries caller, pool and requested IPs") {
  auto in = MakeInvocation(Conf(""), "IP=10.0.0.7");
  vmip::v1::AddRequest r = BuildAddRequest(in);
  CHECK(r.caller().container_id() == "cid1");
  CHECK(r.pool().range_sets(0).ranges(0).subnet() == "10.0.0.0/24");
  REQUIRE(r.requested_ips_size() == 1);
  CHECK(r.requested_ips(0) == "10.0.0.7");
}

TEST_CASE("CHK-2 CheckRequest carries prevResult addresses") {
  auto in = MakeInvocation(Conf(R"(,"prevResult":{"ips":[{"address":"10.0.0.3/24"}]})"), "",
                           Command::kCheck);
  vmip::v1::CheckRequest r = BuildCheckRequest(in);
  REQUIRE(r.expected_ips_size() == 1);
  CHECK(r.expected_ips(0) == "10.0.0.3");
  CHECK(r.pool().range_sets_size() == 1);
}

TEST_CASE("GC-3 GcRequest carries network and valid attachments") {
  auto in = MakeInvocation(
      R"({"cniVersion":"1.1.0","name":"net1","cni.dev/valid-attachments":[{"containerID":"c9","ifname":"eth0"}]})",
      "", Command::kGc);
  vmip::v1::GcRequest r = BuildGcRequest(in);
  CHECK(r.network() == "net1");
  REQUIRE(r.valid_size() == 1);
  CHECK(r.valid(0).container_id() == "c9");
  CHECK(r.valid(0).ifname() == "eth0");
}

TEST_CASE("ST StatusRequest carries network and pool") {
  auto in =
      MakeInvocation(R"({"cniVersion":"1.1.0","name":"net1","ipam":{"subnet":"10.0.0.0/24"}})", "",
                     Command::kStatus);
  vmip::v1::StatusRequest r = BuildStatusRequest(in);
  CHECK(r.network() == "net1");
  CHECK(r.pool().range_sets(0).ranges(0).subnet() == "10.0.0.0/24");
}
