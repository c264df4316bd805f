// vmipctl's subcommands, one function each: ask the daemon's Admin service, print a
// table for people or JSON for scripts, and answer the exit code.
#include "commands.h"

#include <grpcpp/grpcpp.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "duration.h"
#include "reply_json.h"
#include "status_metrics.h"
#include "text_table.h"

namespace vmipctl {
namespace {

using nlohmann::json;
template <typename Reply>
void WarnUnreachable(const Reply& reply) {
  for (const auto& node : reply.unreachable())
    std::cerr << "vmipctl: warning: no answer from " << node << "; its rows are missing\n";
}

std::unique_ptr<v1::Admin::Stub> Connect(const Global& g) {
  // gRPC's 4 MB default answer would fail `leases` at about 35,000 leases.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto channel =
      grpc::CreateCustomChannel("unix:" + g.socket, grpc::InsecureChannelCredentials(), args);
  return v1::Admin::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

// Exit codes: 0 ok, 1 daemon error, 2 usage (CLI11), 3 daemon unreachable.
// Takes the reply itself, not reply.error(): that reference would be read before
// the call fills the reply.
template <typename Reply>
int Report(const Global& g, const grpc::Status& s, const Reply& reply) {
  const v1::Error& e = reply.error();
  if (!s.ok()) {
    std::cerr << "vmipctl: cannot reach vmip-leased at " << g.socket << ": " << s.error_message()
              << "\n";
    return 3;
  }
  if (e.code() != 0) {
    std::cerr << "vmipctl: " << e.msg() << " (code " << e.code() << ")\n";
    return 1;
  }
  return 0;
}

std::string TimeText(int64_t t) {
  char buf[32];
  std::time_t tt = t;
  std::tm tm;
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// IPv6 ranges are counted up to 2^64 - 1; show such counts as what they are.
std::string Count(uint64_t n) {
  return n == UINT64_MAX ? ">=2^64" : std::to_string(n);
}

}  // namespace

int Leases(const Global& g, const v1::LeaseFilter& filter) {
  v1::ListLeasesRequest req;
  *req.mutable_filter() = filter;
  req.set_cluster(g.cluster);
  v1::ListLeasesReply reply;
  int rc = Report(g, Connect(g)->ListLeases(Context().get(), req, &reply), reply);
  if (rc) return rc;
  WarnUnreachable(reply);
  if (g.json) {
    json out = json::array();
    for (const auto& l : reply.leases()) out.push_back(vmip::LeaseJson(l));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  // In a cluster view a VM's lease appears once per node that holds it: say whose row.
  std::vector<std::string> header = {"NETWORK",   "KIND",  "OWNER",          "IFNAME",
                                     "ADDRESSES", "STATE", "DETACHED SINCE", "ATTACHED TO",
                                     "SOURCE",    "UID"};
  if (g.cluster) header.insert(header.begin(), "NODE");
  vmip::TextTable t(header);
  for (const auto& l : reply.leases()) {
    std::string ips, atts;
    for (const auto& ip : l.ips()) ips += (ips.empty() ? "" : ",") + ip;
    for (const auto& a : l.attachments())
      atts += (atts.empty() ? "" : ",") + a.container_id().substr(0, 12) + "@" + a.node();
    std::vector<std::string> row = {l.network(),
                                    l.owner_kind(),
                                    l.owner(),
                                    l.ifname(),
                                    ips,
                                    l.state(),
                                    l.detached_at() ? TimeText(l.detached_at()) : "-",
                                    atts.empty() ? "-" : atts,
                                    l.identity_source().empty() ? "-" : l.identity_source(),
                                    l.owner_uid().empty() ? "-" : l.owner_uid()};
    if (g.cluster) row.insert(row.begin(), l.reported_by());
    t.Add(row);
  }
  t.Print(std::cout);
  return 0;
}

int Pools(const Global& g) {
  v1::ListPoolsReply reply;
  int rc = Report(g, Connect(g)->ListPools(Context().get(), v1::ListPoolsRequest{}, &reply), reply);
  if (rc) return rc;
  if (g.json) {
    json out = json::array();
    for (const auto& p : reply.pools())
      out.push_back({{"network", p.network()},
                     {"ranges", p.ranges()},
                     {"size", p.size()},
                     {"used", p.used()},
                     {"free", p.free()},
                     {"out_of_range", p.out_of_range()}});
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  vmip::TextTable t({"NETWORK", "RANGES", "SIZE", "USED", "FREE", "OUT OF RANGE"});
  for (const auto& p : reply.pools()) {
    std::string ranges;
    for (const auto& r : p.ranges()) ranges += (ranges.empty() ? "" : " ") + r;
    t.Add({p.network(), ranges, Count(p.size()), std::to_string(p.used()), Count(p.free()),
           std::to_string(p.out_of_range())});
  }
  t.Print(std::cout);
  return 0;
}

// ready: exit 0 only when the daemon can serve (database open and, in cluster mode,
// etcd reachable); the DaemonSet's readiness probe.
int Status(const Global& g, bool ready) {
  v1::DaemonStatusRequest req;
  req.set_ready(ready);
  v1::DaemonStatusReply r;
  int rc = Report(g, Connect(g)->Status(Context().get(), req, &r), r);
  if (rc) return rc;
  json out = {{"version", r.version()},
              {"node", r.node()},
              {"db_path", r.db_path()},
              {"schema_version", r.schema_version()},
              {"started_at", r.started_at()},
              {"leases", r.leases()},
              {"attachments", r.attachments()},
              {"pools", r.pools()},
              {"spool_replayed", r.spool_replayed()},
              {"socket", g.socket}};
  if (g.json) {
    if (r.has_kubernetes()) out["kubernetes"] = vmip::KubernetesJson(r.kubernetes());
    out["metrics"] = vmip::MetricsJson(r);
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  vmip::TextTable t({"FIELD", "VALUE"});
  for (const auto& [k, v] : out.items())
    t.Add({k, k == "started_at" ? TimeText(v.get<int64_t>())
                                : (v.is_string() ? v.get<std::string>() : v.dump())});
  if (r.has_kubernetes()) vmip::AddKubernetesRows(r.kubernetes(), TimeText, &t);
  t.Print(std::cout);
  vmip::PrintMetrics(r, std::cout);
  return 0;
}

namespace {

void PrintEvents(const google::protobuf::RepeatedPtrField<v1::Event>& events) {
  vmip::TextTable t(
      {"TIME", "NETWORK", "EVENT", "OWNER", "ADDRESS", "CONTAINER", "IFNAME", "NODE"});
  for (const auto& e : events)
    t.Add({TimeText(e.at()), e.network(), e.kind(), e.owner(), e.ip(),
           e.container_id().substr(0, 12), e.ifname(), e.node()});
  t.Print(std::cout);
}

}  // namespace

int History(const Global& g, v1::HistoryRequest req) {
  req.set_cluster(g.cluster);
  v1::HistoryReply reply;
  int rc = Report(g, Connect(g)->History(Context().get(), req, &reply), reply);
  if (rc) return rc;
  WarnUnreachable(reply);
  if (g.json) {
    json out = json::array();
    for (const auto& e : reply.events()) out.push_back(vmip::EventJson(e));
    std::cout << out.dump(2) << "\n";
  } else {
    PrintEvents(reply.events());
    // How far back it reaches: --history-retention prunes older events.
    std::cout << "history kept "
              << (reply.retention_seconds()
                      ? "for " + vmip::FormatDuration(reply.retention_seconds())
                      : std::string("forever"))
              << "; oldest event "
              << (reply.oldest_at() ? TimeText(reply.oldest_at()) : std::string("none")) << "\n";
  }
  return 0;
}

// show <ip|namespace/vm>: the lease(s) and their recent history in one view.
int Show(const Global& g, const std::string& what, const std::string& network) {
  bool is_vm = what.find('/') != std::string::npos;
  v1::ListLeasesRequest lq;
  lq.mutable_filter()->set_network(network);
  lq.set_cluster(g.cluster);
  v1::HistoryRequest hq;
  hq.set_network(network);
  hq.set_cluster(g.cluster);
  hq.set_limit(20);
  if (is_vm) {
    lq.mutable_filter()->set_vm(what);
    hq.set_vm(what);
  } else {
    lq.mutable_filter()->set_ip(what);
    hq.set_ip(what);
  }
  v1::ListLeasesReply leases;
  int rc = Report(g, Connect(g)->ListLeases(Context().get(), lq, &leases), leases);
  if (rc) return rc;
  v1::HistoryReply history;
  rc = Report(g, Connect(g)->History(Context().get(), hq, &history), history);
  if (rc) return rc;
  if (g.json) {
    json out = {{"leases", json::array()}, {"history", json::array()}};
    for (const auto& l : leases.leases()) out["leases"].push_back(vmip::LeaseJson(l));
    for (const auto& e : history.events()) out["history"].push_back(vmip::EventJson(e));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (leases.leases().empty()) std::cout << "no lease holds " << what << "\n";
  for (const auto& l : leases.leases()) {
    std::string ips;
    for (const auto& ip : l.ips()) ips += (ips.empty() ? "" : ", ") + ip;
    std::cout << "network:   " << l.network() << "\nowner:     " << l.owner_kind() << " "
              << l.owner() << "\nifname:    " << l.ifname() << "\naddresses: " << ips
              << "\nstate:     " << l.state() << "\nsince:     " << TimeText(l.created_at())
              << "\n";
    for (const auto& a : l.attachments())
      std::cout << "attached:  " << a.container_id() << " " << a.ifname() << " on " << a.node()
                << " (" << a.netns() << ") since " << TimeText(a.attached_at()) << "\n";
    std::cout << "\n";
  }
  std::cout << "history (newest first):\n";
  PrintEvents(history.events());
  return 0;
}

int Reserve(const Global& g, const v1::ReserveRequest& req) {
  v1::ReserveReply reply;
  int rc = Report(g, Connect(g)->Reserve(Context().get(), req, &reply), reply);
  if (rc) return rc;
  if (g.json) {
    std::cout
        << json({{"network", req.network()}, {"name", req.name()}, {"ips", reply.ips()}}).dump(2)
        << "\n";
  } else {
    for (const auto& ip : reply.ips())
      std::cout << "reserved " << ip << " as " << req.name() << "\n";
  }
  return 0;
}

int Unreserve(const Global& g, const v1::UnreserveRequest& req) {
  v1::UnreserveReply reply;
  int rc = Report(g, Connect(g)->Unreserve(Context().get(), req, &reply), reply);
  if (rc) return rc;
  if (g.json)
    std::cout << json({{"network", req.network()},
                       {"name", req.name()},
                       {"released", reply.released()}})
                     .dump(2)
              << "\n";
  else
    std::cout << "released " << reply.released() << " unclaimed address(es) of " << req.name()
              << "\n";
  return 0;
}

int Release(const Global& g, const v1::ReleaseRequest& req) {
  v1::ReleaseReply reply;
  int rc = Report(g, Connect(g)->Release(Context().get(), req, &reply), reply);
  if (rc) return rc;
  if (g.json)
    std::cout << json({{"vm", req.vm()}, {"ips", reply.ips()}}).dump(2) << "\n";
  else
    for (const auto& ip : reply.ips())
      std::cout << "released " << ip << " of VM " << req.vm() << "\n";
  return 0;
}

// Exit 0 when consistent, 1 when any problem is found.
int Check(const Global& g) {
  v1::CheckIntegrityReply reply;
  int rc = Report(
      g, Connect(g)->CheckIntegrity(Context().get(), v1::CheckIntegrityRequest{}, &reply), reply);
  if (rc) return rc;
  if (g.json) {
    std::cout << json({{"ok", reply.problems().empty()},
                       {"addresses_checked", reply.addresses_checked()},
                       {"problems", reply.problems()}})
                     .dump(2)
              << "\n";
  } else {
    for (const auto& p : reply.problems()) std::cout << "PROBLEM: " << p << "\n";
    std::cout << (reply.problems().empty() ? "ok" : "FAILED") << ": " << reply.addresses_checked()
              << " addresses checked, " << reply.problems_size() << " problem(s)\n";
  }
  return reply.problems().empty() ? 0 : 1;
}

}  // namespace vmipctl
