// The one owner-key codec (owner_key.h): SQLite rows, cluster keys and hand-off
// notices all spell owners through it, so its text must not drift.
#include "owner_key.h"

#include <catch2/catch.hpp>

#include "event_kind.h"

using namespace vmip;

TEST_CASE("owner keys encode as kind:name#ifname and decode back", "[owner]") {
  OwnerKey vm{OwnerKind::kVm, "default/vm1", "eth0"};
  CHECK(vm.Tag() == "vm:default/vm1");
  CHECK(vm.Encode() == "vm:default/vm1#eth0");
  for (const OwnerKey& k : {vm, OwnerKey{OwnerKind::kPod, "cid-1", "net1"},
                            OwnerKey{OwnerKind::kReservation, "spare", ""}}) {
    auto back = OwnerKey::Decode(k.Encode());
    REQUIRE(back);
    CHECK(back->kind == k.kind);
    CHECK(back->name == k.name);
    CHECK(back->ifname == k.ifname);
  }
  auto tag = OwnerKey::Decode("pod:cid-2");  // a tag: no interface
  REQUIRE(tag);
  CHECK(tag->kind == OwnerKind::kPod);
  CHECK(tag->name == "cid-2");
  CHECK(tag->ifname.empty());
}

TEST_CASE("owner keys with an unknown kind or no kind are refused", "[owner]") {
  CHECK(!OwnerKey::Decode("node:n1#eth0"));
  CHECK(!OwnerKey::Decode("default/vm1#eth0"));
  CHECK(!OwnerKey::Decode(""));
  CHECK(!ParseOwnerKind("VM"));
}

TEST_CASE("every event kind round-trips through its stored name", "[events]") {
  for (EventKind k : {EventKind::kBind, EventKind::kAttach, EventKind::kDetach, EventKind::kRelease,
                      EventKind::kClaim, EventKind::kUnclaim, EventKind::kAdopt,
                      EventKind::kHandoff, EventKind::kDropCopy}) {
    auto back = ParseEventKind(EventKindName(k));
    REQUIRE(back);
    CHECK(*back == k);
  }
  CHECK(std::string(EventKindName(EventKind::kDropCopy)) == "drop-copy");
  CHECK(!ParseEventKind("frobnicate"));
}
