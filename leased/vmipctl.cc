// vmipctl: inspect the leases of the local vmip-leased. Tables for people, --json
// for scripts. Talks to the daemon's Admin service on its unix socket.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "text_table.h"
#include "vmip.grpc.pb.h"

namespace {

using nlohmann::json;
namespace v1 = vmip::v1;

struct Global {
  std::string socket = "/run/vmip/leased.sock";
  bool json = false;
};

std::unique_ptr<v1::Admin::Stub> Connect(const Global& g) {
  auto channel = grpc::CreateChannel("unix:" + g.socket, grpc::InsecureChannelCredentials());
  return v1::Admin::NewStub(channel);
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

// Exit codes: 0 ok, 1 daemon error, 2 usage (CLI11), 3 daemon unreachable.
int Report(const Global& g, const grpc::Status& s, const v1::Error& e) {
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
std::string Count(uint64_t n) { return n == UINT64_MAX ? ">=2^64" : std::to_string(n); }

json LeaseJson(const v1::Lease& l) {
  json atts = json::array();
  for (const auto& a : l.attachments())
    atts.push_back({{"container_id", a.container_id()}, {"ifname", a.ifname()}, {"netns", a.netns()},
                    {"node", a.node()}, {"attached_at", a.attached_at()}});
  return {{"network", l.network()}, {"owner_kind", l.owner_kind()}, {"owner", l.owner()},
          {"ifname", l.ifname()},   {"ips", l.ips()},               {"state", l.state()},
          {"attachments", atts},    {"created_at", l.created_at()}};
}

int Leases(const Global& g, const v1::LeaseFilter& filter) {
  v1::ListLeasesRequest req;
  *req.mutable_filter() = filter;
  v1::ListLeasesReply reply;
  int rc = Report(g, Connect(g)->ListLeases(Context().get(), req, &reply), reply.error());
  if (rc) return rc;
  if (g.json) {
    json out = json::array();
    for (const auto& l : reply.leases()) out.push_back(LeaseJson(l));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  vmip::TextTable t({"NETWORK", "KIND", "OWNER", "IFNAME", "ADDRESSES", "STATE", "ATTACHED TO"});
  for (const auto& l : reply.leases()) {
    std::string ips, atts;
    for (const auto& ip : l.ips()) ips += (ips.empty() ? "" : ",") + ip;
    for (const auto& a : l.attachments())
      atts += (atts.empty() ? "" : ",") + a.container_id().substr(0, 12) + "@" + a.node();
    t.Add({l.network(), l.owner_kind(), l.owner(), l.ifname(), ips, l.state(), atts.empty() ? "-" : atts});
  }
  t.Print(std::cout);
  return 0;
}

int Pools(const Global& g) {
  v1::ListPoolsReply reply;
  int rc = Report(g, Connect(g)->ListPools(Context().get(), v1::ListPoolsRequest{}, &reply), reply.error());
  if (rc) return rc;
  if (g.json) {
    json out = json::array();
    for (const auto& p : reply.pools())
      out.push_back({{"network", p.network()}, {"ranges", p.ranges()}, {"size", p.size()},
                     {"used", p.used()}, {"free", p.free()}, {"out_of_range", p.out_of_range()}});
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

int Status(const Global& g) {
  v1::DaemonStatusReply r;
  int rc = Report(g, Connect(g)->Status(Context().get(), v1::DaemonStatusRequest{}, &r), r.error());
  if (rc) return rc;
  json out = {{"version", r.version()},       {"node", r.node()},
              {"db_path", r.db_path()},       {"schema_version", r.schema_version()},
              {"started_at", r.started_at()}, {"leases", r.leases()},
              {"attachments", r.attachments()}, {"pools", r.pools()},
              {"spool_replayed", r.spool_replayed()}, {"socket", g.socket}};
  if (g.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  vmip::TextTable t({"FIELD", "VALUE"});
  for (const auto& [k, v] : out.items())
    t.Add({k, k == "started_at" ? TimeText(v.get<int64_t>()) : (v.is_string() ? v.get<std::string>() : v.dump())});
  t.Print(std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Global g;
  v1::LeaseFilter filter;
  std::string network, ns, vm, state, node;
  CLI::App app{"vmipctl: inspect vmip leases on this node (talks to vmip-leased)"};
  app.add_option("--socket", g.socket, "vmip-leased admin socket")->capture_default_str();
  app.add_flag("--json", g.json, "print JSON instead of a table");
  app.require_subcommand(1);
  auto* leases = app.add_subcommand("leases", "list leases (VM, pod and reservation bindings)");
  leases->add_option("--network", network, "only this network");
  leases->add_option("--namespace", ns, "only VMs in this namespace");
  leases->add_option("--vm", vm, "only this VM (name or namespace/name)");
  leases->add_option("--state", state, "attached or detached")->check(CLI::IsMember({"attached", "detached"}));
  leases->add_option("--node", node, "only leases attached on this node");
  leases->add_flag("--json", g.json, "print JSON instead of a table");
  auto* pools = app.add_subcommand("pools", "list pools with size, used and free addresses");
  pools->add_flag("--json", g.json, "print JSON instead of a table");
  auto* status = app.add_subcommand("status", "show daemon status");
  status->add_flag("--json", g.json, "print JSON instead of a table");
  CLI11_PARSE(app, argc, argv);
  if (leases->parsed()) {
    filter.set_network(network);
    filter.set_namespace_(ns);
    filter.set_vm(vm);
    filter.set_state(state);
    filter.set_node(node);
    return Leases(g, filter);
  }
  if (pools->parsed()) return Pools(g);
  return Status(g);
}
