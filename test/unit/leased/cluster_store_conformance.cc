#include "cluster_store_conformance.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace vmip {
namespace {

const std::string kVm1 = "vm:default/vm1#eth0";
const std::string kVm2 = "vm:default/vm2#eth0";

using Ips = std::vector<std::string>;

// Claims ips for owner from `node`'s store; the claim must succeed.
ClusterBinding Bind(ClusterStore& s, const std::string& network, const std::string& owner,
                    const Ips& ips, const std::string& node) {
  auto c = s.Claim(network, owner, ClusterBinding{ips, node, 0}, nullptr);
  REQUIRE(c.ok());
  REQUIRE(c.value().claimed);
  REQUIRE(c.value().revision > 0);
  return ClusterBinding{ips, node, c.value().revision};
}

Ips Bound(ClusterStore& s, const std::string& network) {
  auto r = s.BoundAddresses(network);
  REQUIRE(r.ok());
  return r.value();
}

std::optional<ClusterBinding> Find(ClusterStore& s, const std::string& network,
                                   const std::string& owner) {
  auto r = s.FindBinding(network, owner);
  REQUIRE(r.ok());
  return r.value();
}

ReleaseOutcome ReleaseOf(ClusterStore& s, const std::string& network, const std::string& owner,
                         const ClusterBinding& b, int64_t attachments_seen_at = 0) {
  auto r = s.Release(network, owner, b.ips, b.revision, attachments_seen_at);
  REQUIRE(r.ok());
  return r.value();
}

// An Attach's answer, readable in a CHECK: "attached", "changed" (the binding is
// not that version: nothing written) or "error".
std::string Outcome(const Result<bool>& r) {
  if (!r.ok()) return "error";
  return r.value() ? "attached" : "changed";
}

std::vector<std::string> AttachmentsOn(ClusterStore& s, const std::string& network) {
  auto r = s.Attachments(network);
  REQUIRE(r.ok());
  std::vector<std::string> out;
  for (const auto& a : r.value().list)
    out.push_back(a.network + " " + a.attachment + " " + a.node + " " + a.owner);
  return out;
}

}  // namespace

void CheckClaimOfFreeAddresses(const ClusterStoreFactory& make) {
  INFO("claim of free addresses");
  auto a = make("a"), b = make("b");
  CHECK(!Find(*b, "claim", kVm1));
  ClusterBinding bound = Bind(*a, "claim", kVm1, {"10.1.0.2", "fd00::2"}, "a");
  auto seen = Find(*b, "claim", kVm1);  // the other node sees it
  REQUIRE(seen);
  CHECK(seen->ips == bound.ips);
  CHECK(seen->node == "a");
  CHECK(seen->revision == bound.revision);
  CHECK(Bound(*b, "claim") == Ips{"10.1.0.2", "fd00::2"});
  CHECK(Bound(*b, "other").empty());
  auto of = b->BindingsOf("claim", "vm:default/vm1#");
  REQUIRE(of.ok());
  REQUIRE(of.value().size() == 1);
  CHECK(of.value()[0].network == "claim");
  CHECK(of.value()[0].owner == kVm1);
  CHECK(of.value()[0].binding.revision == bound.revision);
  CHECK(b->BindingsOf("", "vm:default/vm1#").value().size() == 1);  // every network
  CHECK(b->BindingsOf("claim", "vm:default/vm10#").value().empty());
  ClusterBinding second = Bind(*b, "claim", kVm2, {"10.1.0.3"}, "b");
  CHECK(second.revision > bound.revision);
}

void CheckClaimRefusals(const ClusterStoreFactory& make) {
  INFO("claim refused: owner bound, or an address taken");
  auto a = make("a"), b = make("b");
  ClusterBinding bound = Bind(*a, "refuse", kVm1, {"10.2.0.2"}, "a");
  auto again = b->Claim("refuse", kVm1, ClusterBinding{{"10.2.0.9"}, "b", 0}, nullptr);
  REQUIRE(again.ok());
  CHECK(!again.value().claimed);
  REQUIRE(again.value().existing);
  CHECK(again.value().existing->ips == bound.ips);
  CHECK(again.value().existing->node == "a");
  CHECK(again.value().existing->revision == bound.revision);
  auto taken = b->Claim("refuse", kVm2, ClusterBinding{{"10.2.0.3", "10.2.0.2"}, "b", 0}, nullptr);
  REQUIRE(taken.ok());
  CHECK(!taken.value().claimed);
  CHECK(!taken.value().existing);
  CHECK(taken.value().taken_ip == "10.2.0.2");
  // All or nothing: neither the free address nor the second owner got bound.
  CHECK(Bound(*a, "refuse") == Ips{"10.2.0.2"});
  CHECK(!Find(*a, "refuse", kVm2));
  // The same address on another network is another address.
  Bind(*b, "refuse-other", kVm2, {"10.2.0.2"}, "b");
}

void CheckClaimRaceHasOneWinner(const ClusterStoreFactory& make) {
  INFO("two nodes race for one address: exactly one wins");
  auto a = make("a"), b = make("b");
  const int kRounds = 20;
  for (int i = 0; i < kRounds; i++) {
    std::string ip = "10.3.0." + std::to_string(i + 2);
    std::atomic<int> ready{0};
    Result<ClaimResult> ra = Error{}, rb = Error{};
    auto race = [&](ClusterStore& s, const std::string& owner, Result<ClaimResult>* out) {
      ready++;
      while (ready < 2) std::this_thread::yield();
      *out = s.Claim("race", owner + std::to_string(i), ClusterBinding{{ip}, "x", 0}, nullptr);
    };
    std::thread ta(race, std::ref(*a), kVm1, &ra), tb(race, std::ref(*b), kVm2, &rb);
    ta.join();
    tb.join();
    REQUIRE(ra.ok());
    REQUIRE(rb.ok());
    CHECK(ra.value().claimed != rb.value().claimed);
    const ClaimResult& loser = ra.value().claimed ? rb.value() : ra.value();
    CHECK(loser.taken_ip == ip);
    CHECK(Bound(*a, "race").size() == static_cast<size_t>(i + 1));
  }
}

void CheckTakeOverNamesTheRevision(const ClusterStoreFactory& make) {
  INFO("take-over only from the current revision");
  auto a = make("a"), b = make("b");
  // Version 0 names no binding: it must not bind an owner nobody bound.
  auto unknown = b->TakeOver("takeover", kVm1, ClusterBinding{{"10.4.0.2"}, "a", 0});
  REQUIRE(!unknown.ok());
  CHECK(!Find(*a, "takeover", kVm1));
  ClusterBinding on_a = Bind(*a, "takeover", kVm1, {"10.4.0.2"}, "a");
  auto taken = b->TakeOver("takeover", kVm1, on_a);
  REQUIRE(taken.ok());
  CHECK(taken.value() > on_a.revision);
  auto now = Find(*a, "takeover", kVm1);
  REQUIRE(now);
  CHECK(now->node == "b");
  CHECK(now->ips == on_a.ips);
  CHECK(now->revision == taken.value());
  auto stale = a->TakeOver("takeover", kVm1, on_a);  // a second take-over of the old version
  REQUIRE(!stale.ok());
  CHECK(stale.error().code == kTryAgainLater);
  CHECK(Find(*a, "takeover", kVm1)->node == "b");
  CHECK(ReleaseOf(*a, "takeover", kVm1, on_a) == ReleaseOutcome::kChanged);  // old holder
  CHECK(Bound(*a, "takeover") == Ips{"10.4.0.2"});
}

void CheckReleaseNamesTheRevision(const ClusterStoreFactory& make) {
  INFO("release only at the named revision");
  auto a = make("a"), b = make("b");
  ClusterBinding first = Bind(*a, "release", kVm1, {"10.5.0.2"}, "a");
  CHECK(!a->Release("release", kVm1, first.ips, 0).ok());  // no version: refused
  ClusterBinding older = first;
  older.revision = first.revision - 1;
  CHECK(ReleaseOf(*b, "release", kVm1, older) == ReleaseOutcome::kChanged);
  CHECK(Find(*b, "release", kVm1));
  CHECK(ReleaseOf(*b, "release", kVm1, first) == ReleaseOutcome::kReleased);
  CHECK(!Find(*a, "release", kVm1));
  CHECK(Bound(*a, "release").empty());
  ClusterBinding second = Bind(*a, "release", kVm1, {"10.5.0.2"}, "a");  // same owner and address
  CHECK(second.revision > first.revision);
  CHECK(ReleaseOf(*a, "release", kVm1, first) == ReleaseOutcome::kChanged);  // a late replay
  REQUIRE(Find(*a, "release", kVm1));
  CHECK(Find(*a, "release", kVm1)->revision == second.revision);
  CHECK(Bound(*a, "release") == Ips{"10.5.0.2"});
  // An address that names another owner is not this owner's to free.
  Bind(*a, "release", kVm2, {"10.5.0.3"}, "a");
  ClusterBinding wider{{"10.5.0.2", "10.5.0.3"}, "a", second.revision};
  CHECK(ReleaseOf(*a, "release", kVm1, wider) == ReleaseOutcome::kChanged);
  CHECK(Bound(*a, "release") == Ips{"10.5.0.2", "10.5.0.3"});
  CHECK(ReleaseOf(*a, "release", kVm1, second) == ReleaseOutcome::kReleased);
  CHECK(ReleaseOf(*a, "release", kVm1, second) == ReleaseOutcome::kGone);  // a retry
  CHECK(Bound(*a, "release") == Ips{"10.5.0.3"});
}

void CheckReleaseSeesNewAttachments(const ClusterStoreFactory& make) {
  INFO("release refused when attachments changed after attachments_seen_at");
  auto a = make("a"), b = make("b");
  ClusterBinding bound = Bind(*a, "seen", kVm1, {"10.6.0.2"}, "a");
  auto seen = a->Attachments("seen");
  REQUIRE(seen.ok());
  CHECK(seen.value().list.empty());
  CHECK(seen.value().revision >= bound.revision);
  REQUIRE(Outcome(b->Attach("seen", "c9#eth0", kVm1, "t9", bound.revision)) == "attached");
  CHECK(ReleaseOf(*a, "seen", kVm1, bound, seen.value().revision) == ReleaseOutcome::kChanged);
  CHECK(Find(*a, "seen", kVm1));
  REQUIRE(b->Detach("seen", "c9#eth0", kVm1, "t9").code == 0);
  auto quiet = a->Attachments("seen");
  REQUIRE(quiet.ok());
  CHECK(quiet.value().list.empty());
  CHECK(quiet.value().revision > seen.value().revision);
  // An attachment on another network does not concern this one.
  ClusterBinding elsewhere = Bind(*b, "seen-other", kVm2, {"10.6.0.3"}, "b");
  REQUIRE(Outcome(b->Attach("seen-other", "c2#eth0", kVm2, "t2", elsewhere.revision)) ==
          "attached");
  CHECK(ReleaseOf(*a, "seen", kVm1, bound, quiet.value().revision) == ReleaseOutcome::kReleased);
  CHECK(Bound(*a, "seen").empty());
}

void CheckAttachNeedsTheCurrentBinding(const ClusterStoreFactory& make) {
  INFO("attach only while the binding is that revision");
  auto a = make("a"), b = make("b");
  CHECK(Outcome(a->Attach("attach", "c0#eth0", kVm1, "t0", 12345)) == "changed");  // unbound
  CHECK(Outcome(a->Attach("attach", "c0#eth0", kVm1, "t0", 0)) == "error");  // version 0: nothing
  ClusterBinding bound = Bind(*a, "attach", kVm1, {"10.7.0.2"}, "a");
  CHECK(Outcome(a->Attach("attach", "c1#eth0", kVm1, "t1", bound.revision - 1)) == "changed");
  CHECK(AttachmentsOn(*a, "attach").empty());
  REQUIRE(Outcome(a->Attach("attach", "c1#eth0", kVm1, "t1", bound.revision)) == "attached");
  auto taken = b->TakeOver("attach", kVm1, bound);
  REQUIRE(taken.ok());
  CHECK(Outcome(a->Attach("attach", "c2#eth0", kVm1, "t2", bound.revision)) == "changed");
  REQUIRE(Outcome(b->Attach("attach", "c3#eth0", kVm1, "t3", taken.value())) == "attached");
  // Re-registering what a node committed needs no binding check.
  REQUIRE(a->Reattach("attach", "c4#eth0", kVm1, "t4").code == 0);
  CHECK(AttachmentsOn(*b, "attach") == std::vector<std::string>{"attach c1#eth0 a " + kVm1,
                                                                "attach c3#eth0 b " + kVm1,
                                                                "attach c4#eth0 a " + kVm1});
  auto all = b->Attachments("");
  REQUIRE(all.ok());
  CHECK(all.value().list.size() >= 3);  // every network; earlier checks may add more
  CHECK(AttachmentsOn(*b, "attach-other").empty());
}

void CheckDetachNamesOwnerAndToken(const ClusterStoreFactory& make) {
  INFO("detach only with the right owner and token");
  auto a = make("a");
  ClusterBinding bound = Bind(*a, "detach", kVm1, {"10.8.0.2"}, "a");
  const std::vector<std::string> one = {"detach c1#eth0 a " + kVm1};
  REQUIRE(Outcome(a->Attach("detach", "c1#eth0", kVm1, "t1", bound.revision)) == "attached");
  REQUIRE(a->Detach("detach", "c1#eth0", kVm2, "t1").code == 0);  // another owner: no-op
  CHECK(AttachmentsOn(*a, "detach") == one);
  REQUIRE(a->Detach("detach", "c1#eth0", kVm1, "t0").code == 0);  // another token: no-op
  CHECK(AttachmentsOn(*a, "detach") == one);
  REQUIRE(a->Detach("detach", "c1#eth0", kVm1, "t1").code == 0);
  CHECK(AttachmentsOn(*a, "detach").empty());
  REQUIRE(Outcome(a->Attach("detach", "c1#eth0", kVm1, "t2", bound.revision)) ==
          "attached");                                            // same key
  REQUIRE(a->Detach("detach", "c1#eth0", kVm1, "t1").code == 0);  // late replay of the old one
  CHECK(AttachmentsOn(*a, "detach") == one);
  REQUIRE(a->Detach("detach", "c9#eth0", kVm1, "t1").code == 0);  // never attached: no-op
  REQUIRE(a->Detach("detach", "c1#eth0", kVm1, "t2").code == 0);
  CHECK(AttachmentsOn(*a, "detach").empty());
}

void CheckWatchReportsBindAndFree(const ClusterStoreFactory& make) {
  INFO("the address watch reports a bind and a free within about a second");
  auto a = make("a"), b = make("b");
  std::mutex mu;
  std::vector<std::string> seen;
  std::atomic<int> starts{0};
  b->WatchAddresses(
      [&](const AddressChange& c) {
        std::lock_guard<std::mutex> lock(mu);
        if (c.network == "watch") seen.push_back(c.ip + (c.bound ? " bound" : " freed"));
      },
      [&] { starts++; });
  for (int i = 0; i < 50 && starts == 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(starts >= 1);  // the caller is told to read the whole state once
  ClusterBinding bound = Bind(*a, "watch", kVm1, {"10.9.0.2"}, "a");
  REQUIRE(ReleaseOf(*a, "watch", kVm1, bound) == ReleaseOutcome::kReleased);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1200);
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (seen.size() >= 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  b.reset();  // no more callbacks into this frame
  std::lock_guard<std::mutex> lock(mu);
  CHECK(seen == std::vector<std::string>{"10.9.0.2 bound", "10.9.0.2 freed"});
}

void CheckNodesListsLiveNodes(const ClusterStoreFactory& make) {
  INFO("nodes lists every live node");
  auto a = make("node-a"), b = make("node-b");
  auto nodes = a->Nodes();
  REQUIRE(nodes.ok());
  REQUIRE(nodes.value().count("node-a"));
  REQUIRE(nodes.value().count("node-b"));
  CHECK(!nodes.value().at("node-a").empty());
  CHECK(!nodes.value().at("node-b").empty());
}

void CheckClaimCarriesTheAttachment(const ClusterStoreFactory& make) {
  INFO("a claim with an attachment writes both or neither");
  auto a = make("a"), b = make("b");
  AttachmentClaim c1{"c1#eth0", "t1"}, c2{"c2#eth0", "t2"}, c3{"c3#eth0", "t3"};
  auto won = a->Claim("carry", kVm1, ClusterBinding{{"10.10.0.2"}, "a", 0}, &c1);
  REQUIRE(won.ok());
  REQUIRE(won.value().claimed);
  CHECK(AttachmentsOn(*b, "carry") == std::vector<std::string>{"carry c1#eth0 a " + kVm1});
  // Refused because the owner is bound, or because an address is another owner's:
  // no attachment, no binding, no address.
  auto bound = b->Claim("carry", kVm1, ClusterBinding{{"10.10.0.3"}, "b", 0}, &c2);
  REQUIRE(bound.ok());
  CHECK(!bound.value().claimed);
  CHECK(bound.value().existing);
  auto taken = b->Claim("carry", kVm2, ClusterBinding{{"10.10.0.3", "10.10.0.2"}, "b", 0}, &c3);
  REQUIRE(taken.ok());
  CHECK(!taken.value().claimed);
  CHECK(taken.value().taken_ip == "10.10.0.2");
  CHECK(AttachmentsOn(*b, "carry") == std::vector<std::string>{"carry c1#eth0 a " + kVm1});
  CHECK(Bound(*b, "carry") == Ips{"10.10.0.2"});
  CHECK(!Find(*b, "carry", kVm2));
  // A failed ADD's undo: the attachment by its token, then the binding by its version.
  REQUIRE(a->Detach("carry", "c1#eth0", kVm1, "t1").code == 0);
  ClusterBinding mine{{"10.10.0.2"}, "a", won.value().revision};
  CHECK(ReleaseOf(*a, "carry", kVm1, mine) == ReleaseOutcome::kReleased);
  CHECK(AttachmentsOn(*b, "carry").empty());
  CHECK(Bound(*b, "carry").empty());
}

void RunClusterStoreConformance(const ClusterStoreFactory& make) {
  CheckClaimOfFreeAddresses(make);
  CheckClaimRefusals(make);
  CheckClaimRaceHasOneWinner(make);
  CheckClaimCarriesTheAttachment(make);
  CheckTakeOverNamesTheRevision(make);
  CheckReleaseNamesTheRevision(make);
  CheckReleaseSeesNewAttachments(make);
  CheckAttachNeedsTheCurrentBinding(make);
  CheckDetachNamesOwnerAndToken(make);
  CheckWatchReportsBindAndFree(make);
  CheckNodesListsLiveNodes(make);
}

}  // namespace vmip
