#include "pool.h"

#include <catch2/catch.hpp>

using namespace vmip;

namespace {

v1::PoolConfig Config(std::initializer_list<std::initializer_list<v1::Range>> sets) {
  v1::PoolConfig c;
  for (const auto& s : sets) {
    auto* rs = c.add_range_sets();
    for (const auto& r : s) *rs->add_ranges() = r;
  }
  return c;
}

v1::Range R(const std::string& subnet, const std::string& start = "", const std::string& end = "",
            const std::string& gw = "") {
  v1::Range r;
  r.set_subnet(subnet);
  r.set_range_start(start);
  r.set_range_end(end);
  r.set_gateway(gw);
  return r;
}

unsigned CodeOf(const v1::PoolConfig& c) {
  auto p = Pool::FromConfig("net1", c);
  return p.ok() ? 0 : p.error().code;
}

std::string MsgOf(const v1::PoolConfig& c) {
  auto p = Pool::FromConfig("net1", c);
  return p.ok() ? "" : p.error().msg;
}

}  // namespace

TEST_CASE("host-local defaults: start network+1, end broadcast-1, gateway network+1") {
  auto p = Pool::FromConfig("net1", Config({{R("10.9.0.0/29")}}));
  REQUIRE(p.ok());
  const AddressRange& r = p.value().sets()[0].ranges[0];
  CHECK(r.start.ToString() == "10.9.0.1");
  CHECK(r.end.ToString() == "10.9.0.6");
  CHECK(r.gateway.ToString() == "10.9.0.1");
  CHECK(p.value().IsReserved(*ParseIp("10.9.0.1")));
  CHECK(p.value().Size(0) == 5);  // .1-.6 minus the gateway
}

TEST_CASE("IPv6 range ends at the last address") {
  auto p = Pool::FromConfig("net1", Config({{R("fd00::/120")}}));
  REQUIRE(p.ok());
  CHECK(p.value().sets()[0].ranges[0].end.ToString() == "fd00::ff");
}

TEST_CASE("bad pool configs are code 7 with a message naming the key") {
  CHECK(CodeOf(Config({{R("10.9.0.0/33")}})) == 7);
  CHECK(MsgOf(Config({{R("banana")}})).find("ipam.ranges[0][0].subnet") != std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.5/24")}})).find("host bits") != std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/31")}})).find("too small") != std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/24", "10.9.1.5")}})).find("rangeStart") != std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/24", "", "10.8.0.1")}})).find("rangeEnd") != std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/24", "10.9.0.50", "10.9.0.10")}})).find("before") !=
        std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/24", "", "", "10.10.0.1")}})).find("gateway") !=
        std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/24")}, {R("10.9.0.0/25")}})).find("overlaps") !=
        std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/24"), R("10.9.0.128/25")}})).find("overlaps") !=
        std::string::npos);
  CHECK(MsgOf(Config({{R("10.9.0.0/24"), R("fd00::/64")}})).find("mixes") != std::string::npos);
  CHECK(CodeOf(v1::PoolConfig{}) == 7);
  CHECK(CodeOf(Config({{}})) == 7);
  auto bad_name = Pool::FromConfig("bad/name", Config({{R("10.9.0.0/24")}}));
  CHECK(bad_name.error().code == 7);
}

TEST_CASE("exclude and route entries are validated") {
  auto c = Config({{R("10.9.0.0/24")}});
  c.add_exclude("10.9.0.0/28");
  c.add_exclude("10.9.0.77");
  auto p = Pool::FromConfig("net1", c);
  REQUIRE(p.ok());
  CHECK(p.value().IsReserved(*ParseIp("10.9.0.15")));
  CHECK(p.value().IsReserved(*ParseIp("10.9.0.77")));
  CHECK_FALSE(p.value().IsReserved(*ParseIp("10.9.0.16")));
  c.add_exclude("nope");
  CHECK(MsgOf(c).find("exclude[2]") != std::string::npos);
  auto r = Config({{R("10.9.0.0/24")}});
  r.add_routes()->set_dst("0.0.0.0");
  CHECK(MsgOf(r).find("routes[0].dst") != std::string::npos);
}

TEST_CASE("SetContaining finds the range set of an address") {
  auto p = Pool::FromConfig("net1", Config({{R("10.9.0.0/24")}, {R("fd00::/64")}}));
  REQUIRE(p.ok());
  CHECK(p.value().SetContaining(*ParseIp("10.9.0.9")) == 0);
  CHECK(p.value().SetContaining(*ParseIp("fd00::9")) == 1);
  CHECK(p.value().SetContaining(*ParseIp("10.8.0.9")) == -1);
}
