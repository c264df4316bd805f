#include "owner_locks.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

using namespace vmip;
using namespace std::chrono_literals;

namespace {

// Starts Lock(keys) on another thread; the future is ready once it holds them.
std::future<OwnerLocks::Held> LockLater(OwnerLocks& table, std::vector<std::string> keys) {
  return std::async(std::launch::async, [&table, keys] { return table.Lock(keys); });
}

}  // namespace

TEST_CASE("owner locks: a held key makes a second request for it wait until released") {
  OwnerLocks table;
  std::optional<OwnerLocks::Held> first(table.Lock({"o/net/vm:a#eth0", "a/net/c1#eth0"}));
  auto second = LockLater(table, {"o/net/vm:a#eth0", "a/net/c2#eth0"});
  CHECK(second.wait_for(200ms) == std::future_status::timeout);
  first.reset();
  REQUIRE(second.wait_for(2s) == std::future_status::ready);
  CHECK(table.held() == 2);
  { auto held = second.get(); }
  CHECK(table.held() == 0);
}

TEST_CASE("owner locks: requests about other keys never wait") {
  OwnerLocks table;
  auto first = table.Lock({"o/net/vm:a#eth0", "a/net/c1#eth0"});
  auto other = LockLater(table, {"o/net/vm:b#eth0", "a/net/c2#eth0"});
  REQUIRE(other.wait_for(2s) == std::future_status::ready);
  CHECK(table.held() == 4);
}

TEST_CASE("owner locks: a DEL of the container waits for that container's ADD") {
  OwnerLocks table;
  std::optional<OwnerLocks::Held> add(table.Lock({"a/net/c1#eth0", "o/net/pod:c1#eth0"}));
  auto del = LockLater(table, {"a/net/c1#eth0"});
  CHECK(del.wait_for(200ms) == std::future_status::timeout);
  add.reset();
  CHECK(del.wait_for(2s) == std::future_status::ready);
}
