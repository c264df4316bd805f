// Cluster mode: an ADD in its etcd step holds its addresses back (Allocator::Reserve).
#include <catch2/catch.hpp>

#include "allocator.h"

using namespace vmip;

namespace {

Pool OnePool(const std::string& subnet) {
  v1::PoolConfig c;
  c.add_range_sets()->add_ranges()->set_subnet(subnet);
  return Pool::FromConfig("net1", c).value();
}

}  // namespace

TEST_CASE("allocator: a reserved address is skipped until every reservation of it ends") {
  Pool pool = OnePool("10.9.0.0/29");  // .1 gateway, .2-.6 usable
  Allocator a(pool);
  IpAddress first = *a.Next(0);
  a.Reserve(first);
  a.Reserve(first);  // two ADDs in flight may hold one address (an adopt and a pick)
  CHECK(a.IsTaken(first));
  CHECK(*a.Next(0) != first);
  a.Unreserve(first);
  CHECK(a.IsTaken(first));
  a.Unreserve(first);
  CHECK_FALSE(a.IsTaken(first));
  CHECK(*a.Next(0) == first);
}

TEST_CASE("allocator: a reserved address in the release queue is skipped too") {
  Pool pool = OnePool("10.9.0.0/30");  // .1 gateway, .2 the one usable address
  Allocator a(pool);
  IpAddress only = *a.Next(0);
  a.Take(only);
  a.Release(only, 100);
  REQUIRE(a.Next(0, 200) == only);  // only reusable from the release queue
  a.Reserve(only);
  CHECK_FALSE(a.Next(0, 200));
  a.Unreserve(only);
  CHECK(a.Next(0, 200) == only);
}
