#include "cni_args.h"

#include <catch2/catch.hpp>

using namespace vmip::cni;

TEST_CASE("ARG-5 plain pairs are parsed") {
  CniArgs a =
      ParseCniArgs("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=virt-launcher-vm1-abcde");
  CHECK(a.size() == 3);
  CHECK(ArgValue(a, kArgPodNamespace) == "ns");
  CHECK(ArgValue(a, kArgPodName) == "virt-launcher-vm1-abcde");
}

TEST_CASE("ARG-5 value containing '=' is split on the first '='") {
  CniArgs a = ParseCniArgs("K8S_POD_NAME=a=b;X==");
  CHECK(ArgValue(a, "K8S_POD_NAME") == "a=b");
  CHECK(ArgValue(a, "X") == "=");
}

TEST_CASE("ARG-5 empty value is kept") {
  CniArgs a = ParseCniArgs("VMIP_VM=;K=v");
  REQUIRE(a.count("VMIP_VM") == 1);
  CHECK(a.at("VMIP_VM").empty());
  CHECK(ArgValue(a, "K") == "v");
}

TEST_CASE("ARG-5 trailing, leading and doubled semicolons are skipped") {
  CniArgs a = ParseCniArgs(";A=1;;B=2;");
  CHECK(a.size() == 2);
  CHECK(ArgValue(a, "A") == "1");
  CHECK(ArgValue(a, "B") == "2");
}

TEST_CASE("ARG-5 later duplicate key wins") {
  CHECK(ArgValue(ParseCniArgs("IP=10.0.0.1;IP=10.0.0.2"), "IP") == "10.0.0.2");
}

TEST_CASE("ARG-5 pair without '=' is ignored, never an error") {
  CniArgs a = ParseCniArgs("garbage;A=1");
  CHECK(a.size() == 1);
  CHECK(ArgValue(a, "A") == "1");
}

TEST_CASE("ARG-2 keys are case-sensitive") {
  CniArgs a = ParseCniArgs("ip=10.0.0.1");
  CHECK(ArgValue(a, "IP").empty());
  CHECK(ArgValue(a, "ip") == "10.0.0.1");
}

TEST_CASE("ARG-5 empty CNI_ARGS gives no pairs") {
  CHECK(ParseCniArgs("").empty());
}

TEST_CASE("comma lists drop empty items") {
  CHECK(SplitCommaList("10.0.0.1,,fd00::1/64,") ==
        std::vector<std::string>{"10.0.0.1", "fd00::1/64"});
  CHECK(SplitCommaList("").empty());
}

TEST_CASE("ARG-3 known keys pass without IgnoreUnknown") {
  CHECK(CheckArgKeys(ParseCniArgs("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_UID=u;"
                                  "K8S_POD_INFRA_CONTAINER_ID=c;IP=10.0.0.1;VMIP_VM=v;"
                                  "VMIP_RESERVATION=r"))
            .ok());
  CHECK(CheckArgKeys(ParseCniArgs("")).ok());
}

TEST_CASE("ARG-3 an unknown key without IgnoreUnknown is code 4 naming the key") {
  CniError err = CheckArgKeys(ParseCniArgs("K8S_POD_NAME=p;FOO=1;ip=10.0.0.1"));
  CHECK(err.code == 4);
  CHECK_THAT(err.msg, Catch::Contains("unknown args [FOO ip]") && Catch::Contains("IgnoreUnknown"));
}

TEST_CASE("ARG-3 IgnoreUnknown true (1, true, any case) ignores unknown keys") {
  for (const char* v : {"1", "true", "TRUE", "True"})
    CHECK(CheckArgKeys(ParseCniArgs(std::string("IgnoreUnknown=") + v + ";FOO=1")).ok());
}

TEST_CASE("ARG-3 IgnoreUnknown false keeps unknown keys an error") {
  for (const char* v : {"0", "false", "FALSE"})
    CHECK(CheckArgKeys(ParseCniArgs(std::string("IgnoreUnknown=") + v + ";FOO=1")).code == 4);
  CHECK(CheckArgKeys(ParseCniArgs("IgnoreUnknown=0;IP=10.0.0.1")).ok());
}

TEST_CASE("ARG-3 an IgnoreUnknown that is not a boolean is code 4") {
  for (const char* v : {"yes", "", "2"}) {
    CniError err = CheckArgKeys(ParseCniArgs(std::string("IgnoreUnknown=") + v));
    CHECK(err.code == 4);
    CHECK_THAT(err.msg, Catch::Contains("IgnoreUnknown"));
  }
}
