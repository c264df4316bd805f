#include "ip_address.h"

#include <catch2/catch.hpp>

using namespace vmip;

TEST_CASE("ParseIp accepts v4 and v6 and prints canonical text") {
  auto a = ParseIp("10.1.2.3");
  REQUIRE(a);
  CHECK_FALSE(a->v6);
  CHECK(a->value == 0x0a010203);
  CHECK(a->ToString() == "10.1.2.3");
  auto b = ParseIp("FD00:0:0::0001");
  REQUIRE(b);
  CHECK(b->v6);
  CHECK(b->ToString() == "fd00::1");
}

TEST_CASE("ParseIp rejects junk, prefixes and IPv6 zone ids") {
  CHECK_FALSE(ParseIp(""));
  CHECK_FALSE(ParseIp("10.1.2"));
  CHECK_FALSE(ParseIp("10.1.2.3/24"));
  CHECK_FALSE(ParseIp("fe80::1%eth0"));
  CHECK_FALSE(ParseIp("256.1.1.1"));
  CHECK_FALSE(ParseIp(std::string(100, '1')));
}

TEST_CASE("ParseCidr bounds and host bits") {
  auto c = ParseCidr("10.9.0.5/24");
  REQUIRE(c);
  CHECK(c->HasHostBits());
  CHECK(c->First().ToString() == "10.9.0.0");
  CHECK(c->Last().ToString() == "10.9.0.255");
  CHECK(c->Contains(*ParseIp("10.9.0.200")));
  CHECK_FALSE(c->Contains(*ParseIp("10.9.1.0")));
  CHECK_FALSE(c->Contains(*ParseIp("::a09:1")));
  CHECK_FALSE(ParseCidr("10.0.0.0/33"));
  CHECK_FALSE(ParseCidr("10.0.0.0/"));
  CHECK_FALSE(ParseCidr("10.0.0.0/2x"));
  CHECK_FALSE(ParseCidr("10.0.0.1"));
  auto bare = ParseCidr("10.0.0.1", /*allow_bare=*/true);
  REQUIRE(bare);
  CHECK(bare->prefix == 32);
  auto v6 = ParseCidr("fd00::/64");
  REQUIRE(v6);
  CHECK(v6->Last().ToString() == "fd00::ffff:ffff:ffff:ffff");
}

TEST_CASE("CountSaturating saturates for huge ranges") {
  CHECK(CountSaturating(*ParseIp("10.0.0.1"), *ParseIp("10.0.0.10")) == 10);
  CHECK(CountSaturating(*ParseIp("10.0.0.10"), *ParseIp("10.0.0.1")) == 0);
  CHECK(CountSaturating(*ParseIp("::"), *ParseIp("ffff::")) == UINT64_MAX);
}
