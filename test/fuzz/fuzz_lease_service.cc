// The daemon's request handler: a LeaseService over a real LeaseStore (SQLite in
// /dev/shm, opened once per process, emptied before each input) driven by a short
// sequence of requests decoded from the input. Names, containers, addresses and
// pools come from small tables so that collisions, exhaustion, reuse, config
// changes and reservations happen often; a few strings are raw fuzz bytes.
//
// After every step: no address bound twice, and CheckIntegrity (table vs free
// sets) finds nothing. A successful ADD holds one address per range set, none of
// them a gateway or excluded; an ADD repeated for an attachment gets the same
// addresses. A "restart" step reloads the service from the database.
// VMIP_FUZZ_TRACE=1 prints every request and reply (to read a crash input).
#include <fuzzer/FuzzedDataProvider.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>

#include "decision_log.h"
#include "lease_service.h"

using namespace vmip;

namespace {

bool g_trace = false;
// VMIP_FUZZ_IGNORE=text[|text...]: a violation whose message contains text is not a failure,
// so a known, reported bug does not stop the search for others (manual runs only).
const char* g_ignore = nullptr;

template <typename Req, typename Reply>
Reply Traced(const char* op, const Req& req, Reply reply) {
  if (g_trace)
    fprintf(stderr, "%s {%s} -> {%s}\n", op, req.ShortDebugString().c_str(),
            reply.ShortDebugString().c_str());
  return reply;
}

void Require(bool ok, const std::string& what) {
  if (ok) return;
  for (std::string_view rest = g_ignore ? g_ignore : ""; !rest.empty();) {
    std::string_view item = rest.substr(0, rest.find('|'));
    if (!item.empty() && what.find(item) != std::string::npos) return;
    rest.remove_prefix(std::min(rest.size(), item.size() + 1));
  }
  fprintf(stderr, "invariant violated: %s\n", what.c_str());
  std::abort();
}

struct Db {
  std::string dir, path;
  std::unique_ptr<LeaseStore> store;
  sqlite3* wipe = nullptr;  // a second connection that empties every table

  Db() {
    char tmpl[] = "/dev/shm/vmip-fuzz-XXXXXX";
    Require(mkdtemp(tmpl) != nullptr, "mkdtemp");
    dir = tmpl;
    path = dir + "/leases.db";
    auto s = LeaseStore::Open(path);
    Require(s.ok(), "open store");
    store = std::move(s.value());
    Require(sqlite3_open(path.c_str(), &wipe) == SQLITE_OK, "open wipe connection");
    atexit([] {  // the directory goes with the process
      std::system(("rm -rf " + Get().dir).c_str());
    });
  }
  static Db& Get() {
    static Db* db = new Db();  // leaked on purpose: used from atexit
    return *db;
  }
  void Wipe() {
    Require(sqlite3_exec(wipe,
                         "BEGIN IMMEDIATE; DELETE FROM attachments; DELETE FROM addresses; "
                         "DELETE FROM leases; DELETE FROM released; DELETE FROM pools; "
                         "DELETE FROM events; COMMIT;",
                         nullptr, nullptr, nullptr) == SQLITE_OK,
            "wipe");
  }
};

const char* const kNetworks[] = {"net1", "net2"};
const char* const kContainers[] = {"c0", "c1", "c2", "c3", "c4", "c5"};
const char* const kIfnames[] = {"eth0", "net1"};
const char* const kPodNames[] = {"pod-a", "virt-launcher-vma-abcde", "virt-launcher-vmb-x1y2z",
                                 "virt-launcher-vma-zzzzz", ""};
const char* const kVms[] = {"", "vmc", "other/vma", "default/vmb"};
const char* const kReleaseVms[] = {"default/vma", "default/vmb", "default/vmc", "other/vma"};
const char* const kReservations[] = {"", "r1", "r2"};
const char* const kIps[] = {"10.0.0.2",  "10.0.0.3",    "10.0.0.5", "10.0.0.1",  "10.0.0.9",
                            "10.0.1.2",  "10.0.0.4/29", "fd00::2",  "fd00::5",   "fd00::1",
                            "192.0.2.1", "10.0.0.6",    "junk",     "fe80::1%e", ""};

// A short string of fuzz bytes, ASCII only: gRPC never delivers a proto3 string
// that is not UTF-8.
std::string Raw(FuzzedDataProvider& in, size_t max) {
  std::string s = in.ConsumeRandomLengthString(max);
  for (char& c : s) c &= 0x7f;
  return s;
}

v1::Range* AddRange(v1::RangeSet* set, const char* subnet, const char* start = "",
                    const char* end = "", const char* gw = "") {
  v1::Range* r = set->add_ranges();
  r->set_subnet(subnet);
  r->set_range_start(start);
  r->set_range_end(end);
  r->set_gateway(gw);
  return r;
}

// Small pools (a few addresses), variants of one another so a config change keeps
// some leases inside and leaves others outside.
v1::PoolConfig MakePool(FuzzedDataProvider& in) {
  v1::PoolConfig p;
  switch (in.ConsumeIntegralInRange(0, 8)) {
    case 0:
      AddRange(p.add_range_sets(), "10.0.0.0/29");
      break;
    case 1:
      AddRange(p.add_range_sets(), "10.0.0.0/29", "10.0.0.3", "10.0.0.5");
      break;
    case 2:
      AddRange(p.add_range_sets(), "10.0.0.0/29", "", "", "10.0.0.6");
      p.add_exclude("10.0.0.4/31");
      break;
    case 3:  // dual stack
      AddRange(p.add_range_sets(), "10.0.0.0/29");
      AddRange(p.add_range_sets(), "fd00::/125");
      break;
    case 4: {  // two ranges in one set
      v1::RangeSet* set = p.add_range_sets();
      AddRange(set, "10.0.0.0/30");
      AddRange(set, "10.0.1.0/30");
      break;
    }
    case 5:
      AddRange(p.add_range_sets(), "fd00::/125", "fd00::2");
      break;
    case 6:  // invalid: overlapping sets
      AddRange(p.add_range_sets(), "10.0.0.0/29");
      AddRange(p.add_range_sets(), "10.0.0.0/30");
      break;
    case 7:  // a tiny /30: one address besides the gateway
      AddRange(p.add_range_sets(), "10.0.0.0/30", "", "", "10.0.0.2");
      break;
    default: {  // raw strings
      std::string subnet = Raw(in, 24), start = Raw(in, 16);
      v1::Range* r = p.add_range_sets()->add_ranges();
      r->set_subnet(subnet);
      r->set_range_start(start);
      p.add_exclude(Raw(in, 24));
      break;
    }
  }
  if (in.ConsumeBool()) {
    v1::Route* r = p.add_routes();
    r->set_dst("0.0.0.0/0");
    r->set_gw("10.0.0.1");
  }
  return p;
}

template <size_t N>
const char* Pick(FuzzedDataProvider& in, const char* const (&table)[N]) {
  return table[in.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

v1::Caller MakeCaller(FuzzedDataProvider& in, const std::string& network) {
  v1::Caller c;
  c.set_network(network);
  c.set_container_id(Pick(in, kContainers));
  c.set_ifname(Pick(in, kIfnames));
  c.set_netns("/run/netns/" + c.container_id());
  c.set_pod_namespace(in.ConsumeBool() ? "default" : "other");
  c.set_pod_name(Pick(in, kPodNames));
  c.set_vm(Pick(in, kVms));
  c.set_reservation(Pick(in, kReservations));
  return c;
}

// What the last successful ADD answered, per (network, container, ifname).
using Key = std::tuple<std::string, std::string, std::string>;
using Answers = std::map<Key, std::string>;

void DoAdd(LeaseService& svc, FuzzedDataProvider& in, const std::string& network,
           Answers& answers) {
  v1::AddRequest req;
  *req.mutable_caller() = MakeCaller(in, network);
  *req.mutable_pool() = MakePool(in);
  for (int n = in.ConsumeIntegralInRange(0, 2); n > 0; n--) req.add_requested_ips(Pick(in, kIps));
  if (in.ConsumeIntegralInRange(0, 15) == 0) req.add_requested_ips(Raw(in, 40));
  v1::AddReply reply = Traced("ADD", req, svc.Add(req));
  if (reply.error().code()) {
    Require(reply.ips_size() == 0, "failed ADD returns addresses");
    return;
  }
  Require(reply.ips_size() == req.pool().range_sets_size(), "ADD: one address per range set");
  std::string ips;  // bare addresses: a changed pool may change prefix and gateway
  for (const auto& ip : reply.ips()) {
    std::string bare = ip.address().substr(0, ip.address().find('/'));
    Require(bare != ip.gateway(), "ADD: address " + bare + " is the gateway");
    auto addr = ParseIp(bare);
    Require(addr.has_value(), "ADD: bad address " + ip.address());
    for (const auto& ex : req.pool().exclude()) {
      auto cidr = ParseCidr(ex, /*allow_bare=*/true);
      Require(!cidr || !cidr->Contains(*addr), "ADD: address " + bare + " is excluded");
    }
    ips += bare + " ";
  }
  const auto& c = req.caller();
  auto [it, fresh] = answers.emplace(Key{c.network(), c.container_id(), c.ifname()}, ips);
  Require(fresh || it->second == ips, "repeated ADD answered differently");
}

void Step(std::unique_ptr<LeaseService>& svc, FuzzedDataProvider& in, int64_t* now,
          Answers& answers) {
  std::string network = Pick(in, kNetworks);
  switch (in.ConsumeIntegralInRange(0, 8)) {
    case 0:
    case 1:
      DoAdd(*svc, in, network, answers);
      break;
    case 2: {
      v1::DelRequest req;
      *req.mutable_caller() = MakeCaller(in, network);
      if (in.ConsumeBool()) req.mutable_caller()->clear_netns();
      Require(Traced("DEL", req, svc->Del(req)).error().code() == 0, "DEL failed");
      answers.erase({network, req.caller().container_id(), req.caller().ifname()});
      break;
    }
    case 3: {
      v1::CheckRequest req;
      *req.mutable_caller() = MakeCaller(in, network);
      *req.mutable_pool() = MakePool(in);
      if (in.ConsumeBool()) req.add_expected_ips(Pick(in, kIps));
      Traced("CHECK", req, svc->Check(req));
      break;
    }
    case 4: {
      v1::GcRequest req;
      req.set_network(network);
      for (const char* cid : kContainers)
        if (in.ConsumeBool()) {
          auto* v = req.add_valid();
          v->set_container_id(cid);
          v->set_ifname(Pick(in, kIfnames));
        }
      Require(Traced("GC", req, svc->Gc(req)).error().code() == 0, "GC failed");
      answers.clear();  // some attachments are gone
      break;
    }
    case 5: {
      v1::ReserveRequest req;
      req.set_network(network);
      req.set_name(Pick(in, kReservations));
      if (in.ConsumeBool())
        req.set_ip(Pick(in, kIps));
      else
        req.set_count(in.ConsumeIntegralInRange(0, 3));
      Traced("RESERVE", req, svc->Reserve(req));
      break;
    }
    case 6: {
      v1::ReleaseRequest req;
      req.set_vm(Pick(in, kReleaseVms));
      if (in.ConsumeBool()) req.set_network(network);
      req.set_force(in.ConsumeBool());
      if (!Traced("RELEASE", req, svc->Release(req)).error().code()) answers.clear();
      break;
    }
    case 7: {
      v1::UnreserveRequest req;
      req.set_network(network);
      req.set_name(Pick(in, kReservations));
      Traced("UNRESERVE", req, svc->Unreserve(req));
      break;
    }
    default: {  // daemon restart: everything is rebuilt from the database
      v1::StatusRequest st;
      st.set_network(network);
      *st.mutable_pool() = MakePool(in);
      Traced("STATUS", st, svc->Status(st));
      if (g_trace) fprintf(stderr, "RESTART\n");
      svc = std::make_unique<LeaseService>(Db::Get().store.get(), "node-a", [now] { return *now; });
      Require(svc->Load().code == 0, "Load after restart");
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_trace = getenv("VMIP_FUZZ_TRACE") != nullptr;
  g_ignore = getenv("VMIP_FUZZ_IGNORE");
  SetLogLevel(g_trace ? LogLevel::kDebug : LogLevel::kError);
  Db::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Db& db = Db::Get();
  db.Wipe();
  FuzzedDataProvider in(data, size);
  int64_t now = 1000;
  auto svc = std::make_unique<LeaseService>(db.store.get(), "node-a", [&now] { return now; });
  Require(svc->Load().code == 0, "Load");
  Answers answers;
  for (int steps = 0; steps < 24 && in.remaining_bytes() > 0; steps++) {
    now += in.ConsumeIntegralInRange(0, 2);
    Step(svc, in, &now, answers);
    auto dups = db.store->DuplicateAddresses();
    Require(dups.ok() && dups.value().empty(), "an address is bound twice");
    v1::CheckIntegrityReply check = svc->CheckIntegrity("/nonexistent");
    Require(check.error().code() == 0, "CheckIntegrity failed");
    for (const auto& p : check.problems()) Require(false, "CheckIntegrity: " + p);
  }
  return 0;
}
