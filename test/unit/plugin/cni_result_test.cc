#include "cni_result.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace vmip::cni;
using nlohmann::json;

namespace {

vmip::v1::Route* AddRoute(vmip::v1::AddReply* r, const char* dst, const char* gw) {
  auto* route = r->add_routes();
  route->set_dst(dst);
  route->set_gw(gw);
  return route;
}

// 10.1.0.5/16 + fd00::5/64, a default route per family, one 1.1-only route field.
vmip::v1::AddReply DualStackReply() {
  vmip::v1::AddReply r;
  auto* ip4 = r.add_ips();
  ip4->set_address("10.1.0.5/16");
  ip4->set_gateway("10.1.0.1");
  auto* ip6 = r.add_ips();
  ip6->set_address("fd00::5/64");
  ip6->set_gateway("fd00::1");
  auto* def4 = AddRoute(&r, "0.0.0.0/0", "10.1.0.1");
  def4->set_mtu(1400);
  def4->set_has_mtu(true);
  def4->set_table(0);
  def4->set_has_table(true);
  AddRoute(&r, "::/0", "fd00::1");
  r.mutable_dns()->add_nameservers("10.1.0.2");
  r.mutable_dns()->set_domain("example.org");
  return r;
}

json Format(const std::string& version, const vmip::v1::AddReply& reply) {
  std::string out;
  REQUIRE(FormatAddResult(version, reply, &out).ok());
  REQUIRE(out.back() == '\n');
  return json::parse(out);
}

}  // namespace

TEST_CASE("RES-1 RES-2 1.1.0 result: no ips version, 1.1 route fields when set") {
  json expected = json::parse(R"({"cniVersion":"1.1.0",
    "ips":[{"address":"10.1.0.5/16","gateway":"10.1.0.1"},{"address":"fd00::5/64","gateway":"fd00::1"}],
    "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1","mtu":1400,"table":0},{"dst":"::/0","gw":"fd00::1"}],
    "dns":{"nameservers":["10.1.0.2"],"domain":"example.org"}})");
  CHECK(Format("1.1.0", DualStackReply()) == expected);
}

TEST_CASE("RES-1 RES-2 1.0.0 result has no 1.1 route fields") {
  json expected = json::parse(R"({"cniVersion":"1.0.0",
    "ips":[{"address":"10.1.0.5/16","gateway":"10.1.0.1"},{"address":"fd00::5/64","gateway":"fd00::1"}],
    "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"::/0","gw":"fd00::1"}],
    "dns":{"nameservers":["10.1.0.2"],"domain":"example.org"}})");
  CHECK(Format("1.0.0", DualStackReply()) == expected);
}

TEST_CASE("RES-2 0.3.0 0.3.1 0.4.0 results carry ips version by family") {
  for (const char* v : {"0.3.0", "0.3.1", "0.4.0"}) {
    INFO(v);
    json expected = json::parse(R"({"cniVersion":")" + std::string(v) + R"(",
      "ips":[{"version":"4","address":"10.1.0.5/16","gateway":"10.1.0.1"},
             {"version":"6","address":"fd00::5/64","gateway":"fd00::1"}],
      "routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"},{"dst":"::/0","gw":"fd00::1"}],
      "dns":{"nameservers":["10.1.0.2"],"domain":"example.org"}})");
    CHECK(Format(v, DualStackReply()) == expected);
  }
}

TEST_CASE("RES-1 0.1.0 0.2.0 results use ip4/ip6 with routes split by family") {
  for (const char* v : {"0.1.0", "0.2.0"}) {
    INFO(v);
    json expected = json::parse(R"({"cniVersion":")" + std::string(v) + R"(",
      "ip4":{"ip":"10.1.0.5/16","gateway":"10.1.0.1","routes":[{"dst":"0.0.0.0/0","gw":"10.1.0.1"}]},
      "ip6":{"ip":"fd00::5/64","gateway":"fd00::1","routes":[{"dst":"::/0","gw":"fd00::1"}]},
      "dns":{"nameservers":["10.1.0.2"],"domain":"example.org"}})");
    CHECK(Format(v, DualStackReply()) == expected);
  }
}

TEST_CASE("RES 0.2.0 takes the first address of each family") {
  vmip::v1::AddReply r;
  r.add_ips()->set_address("10.0.0.2/24");
  r.add_ips()->set_address("10.0.1.2/24");
  json expected = json::parse(R"({"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.2/24"},"dns":{}})");
  CHECK(Format("0.2.0", r) == expected);
}

TEST_CASE("RES 0.2.0 with no address at all fails") {
  std::string out;
  CniError err = FormatAddResult("0.2.0", vmip::v1::AddReply(), &out);
  CHECK(err.code == 999);
  CHECK(err.msg == "cannot convert: no valid IP addresses");
}

TEST_CASE("RES-3 single-stack result: no interfaces, no routes key, dns always present") {
  vmip::v1::AddReply r;
  r.add_ips()->set_address("10.9.0.2/29");
  r.mutable_ips(0)->set_gateway("10.9.0.1");
  std::string out;
  REQUIRE(FormatAddResult("0.3.1", r, &out).ok());
  CHECK(
      out ==
      R"({"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.9.0.2/29","gateway":"10.9.0.1"}],"dns":{}})"
      "\n");
}

TEST_CASE("RES empty gateway is omitted") {
  vmip::v1::AddReply r;
  r.add_ips()->set_address("fd00::5/64");
  CHECK(Format("1.0.0", r) ==
        json::parse(R"({"cniVersion":"1.0.0","ips":[{"address":"fd00::5/64"}],"dns":{}})"));
}

TEST_CASE("RES 1.1.0 route fields only when their has_* flag is set") {
  vmip::v1::AddReply r;
  r.add_ips()->set_address("10.0.0.2/24");
  auto* route = AddRoute(&r, "10.2.0.0/16", "");
  route->set_mtu(9000);  // value without has_mtu: not printed
  route->set_advmss(1200);
  route->set_has_advmss(true);
  route->set_priority(5);
  route->set_has_priority(true);
  route->set_scope(253);
  route->set_has_scope(true);
  json j = Format("1.1.0", r);
  CHECK(j["routes"] ==
        json::parse(R"([{"dst":"10.2.0.0/16","advmss":1200,"priority":5,"scope":253}])"));
}

TEST_CASE("ERR-1 error JSON carries cniVersion code msg and details when set") {
  CHECK(FormatError("1.0.0", MakeError(7, "bad")) ==
        R"({"cniVersion":"1.0.0","code":7,"msg":"bad"})"
        "\n");
  CHECK(
      FormatError("0.4.0", MakeError(1, "incompatible CNI versions", "config is \"9\"")) ==
      R"({"cniVersion":"0.4.0","code":1,"msg":"incompatible CNI versions","details":"config is \"9\""})"
      "\n");
}

TEST_CASE("ERR-1 invalid UTF-8 in a message does not break the error JSON") {
  std::string out = FormatError("1.0.0", MakeError(4, "bad \xff byte"));
  json j = json::parse(out);
  CHECK(j["code"] == 4);
}

TEST_CASE("VER-1 VER-2 VERSION answer lists all seven versions") {
  CHECK(
      FormatVersionInfo("0.4.0") ==
      R"({"cniVersion":"0.4.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]})"
      "\n");
}

TEST_CASE("ENV-9 about text names the plugin and the versions") {
  std::string about = AboutText();
  CHECK(about.rfind("CNI vmip plugin version ", 0) == 0);
  CHECK(about.find(
            "CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n") !=
        std::string::npos);
}
