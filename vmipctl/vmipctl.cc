// vmipctl: inspect the leases of the local vmip-leased. Tables for people, --json
// for scripts. Talks to the daemon's Admin service on its unix socket.
// This file is the command line; the subcommands themselves are in commands.cc.
#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>

#include "commands.h"

namespace {

using namespace vmipctl;

// What a subcommand does once the command line is parsed, with the options it read.
using Runner = std::function<int()>;
using Runners = std::map<std::string, Runner>;

void JsonFlag(CLI::App* cmd, Global& g) {
  cmd->add_flag("--json", g.json, "print JSON instead of a table");
}

void ClusterFlag(CLI::App* cmd, Global& g) {
  cmd->add_flag("--cluster", g.cluster, "ask every node of the cluster, not just this one");
}

// Each Add* declares one subcommand and its options; the options live in the runner.
void AddLeases(CLI::App& app, Global& g, Runners& run) {
  auto filter = std::make_shared<v1::LeaseFilter>();
  auto* cmd = app.add_subcommand("leases", "list leases (VM, pod and reservation bindings)");
  cmd->add_option("--network", *filter->mutable_network(), "only this network");
  cmd->add_option("--namespace", *filter->mutable_namespace_(), "only VMs in this namespace");
  cmd->add_option("--vm", *filter->mutable_vm(), "only this VM (name or namespace/name)");
  cmd->add_option("--state", *filter->mutable_state(), "attached or detached")
      ->check(CLI::IsMember({"attached", "detached"}));
  cmd->add_option("--node", *filter->mutable_node(), "only leases attached on this node");
  JsonFlag(cmd, g);
  ClusterFlag(cmd, g);
  run["leases"] = [&g, filter] { return Leases(g, *filter); };
}

void AddPools(CLI::App& app, Global& g, Runners& run) {
  JsonFlag(app.add_subcommand("pools", "list pools with size, used and free addresses"), g);
  run["pools"] = [&g] { return Pools(g); };
}

void AddStatus(CLI::App& app, Global& g, Runners& run) {
  auto ready = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("status", "show daemon status");
  JsonFlag(cmd, g);
  cmd->add_flag("--ready", *ready,
                "exit 1 unless ready to serve: database open and, in cluster mode, etcd "
                "reachable (the readiness probe)");
  run["status"] = [&g, ready] { return Status(g, *ready); };
}

void AddShow(CLI::App& app, Global& g, Runners& run) {
  struct Args {
    std::string what, network;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "show", "show the lease holding an address, or a VM's leases, with history");
  cmd->add_option("target", args->what, "an IP address or namespace/vm")->required();
  cmd->add_option("--network", args->network, "only this network");
  JsonFlag(cmd, g);
  ClusterFlag(cmd, g);
  run["show"] = [&g, args] { return Show(g, args->what, args->network); };
}

void AddHistory(CLI::App& app, Global& g, Runners& run) {
  struct Args {
    v1::HistoryRequest req;
    uint32_t limit = 0;  // 0: the daemon's default
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("history", "list lease events, newest first");
  cmd->add_option("--vm", *args->req.mutable_vm(), "only this VM (namespace/name)");
  cmd->add_option("--ip", *args->req.mutable_ip(), "only this address");
  cmd->add_option("--network", *args->req.mutable_network(), "only this network");
  // Numeric options are typed and ranged: "abc", "-1" or an overflow is a usage error
  // (exit 2), never an exception that aborts the process.
  cmd->add_option("--limit", args->limit, "at most this many events (default 100)")
      ->check(CLI::Range(uint32_t{1}, kMaxHistoryLimit));
  JsonFlag(cmd, g);
  ClusterFlag(cmd, g);
  run["history"] = [&g, args] {
    args->req.set_limit(args->limit);
    return History(g, args->req);
  };
}

void AddReserve(CLI::App& app, Global& g, Runners& run) {
  struct Args {
    v1::ReserveRequest req;
    uint32_t count = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("reserve",
                                 "hold addresses the allocator never hands out; a VM claims one "
                                 "with args.cni.reservation or VMIP_RESERVATION");
  cmd->add_option("network", *args->req.mutable_network(), "network name")->required();
  cmd->add_option("--name", *args->req.mutable_name(), "reservation name")->required();
  auto* ip_opt = cmd->add_option("--ip", *args->req.mutable_ip(), "reserve this address");
  cmd->add_option("--count", args->count, "reserve this many addresses from the pool")
      ->excludes(ip_opt)
      ->check(CLI::Range(uint32_t{1}, kMaxReserveCount));
  JsonFlag(cmd, g);
  run["reserve"] = [&g, args] {
    args->req.set_count(args->count);
    return Reserve(g, args->req);
  };
}

void AddUnreserve(CLI::App& app, Global& g, Runners& run) {
  auto req = std::make_shared<v1::UnreserveRequest>();
  auto* cmd =
      app.add_subcommand("unreserve", "give a reservation's unclaimed addresses back to the pool");
  cmd->add_option("network", *req->mutable_network(), "network name")->required();
  cmd->add_option("--name", *req->mutable_name(), "reservation name")->required();
  JsonFlag(cmd, g);
  run["unreserve"] = [&g, req] { return Unreserve(g, *req); };
}

void AddRelease(CLI::App& app, Global& g, Runners& run) {
  struct Args {
    v1::ReleaseRequest req;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("release", "free a deleted VM's addresses (refused while attached)");
  cmd->add_option("--vm", *args->req.mutable_vm(), "namespace/name of the VM")->required();
  cmd->add_option("--network", *args->req.mutable_network(), "only this network (default: all)");
  cmd->add_flag("--force", args->force, "also drop live attachments");
  JsonFlag(cmd, g);
  run["release"] = [&g, args] {
    args->req.set_force(args->force);
    return Release(g, args->req);
  };
}

void AddCheck(CLI::App& app, Global& g, Runners& run) {
  JsonFlag(app.add_subcommand("check",
                              "compare the lease table, the free sets and the spool; "
                              "exit 1 on any problem"),
           g);
  run["check"] = [&g] { return Check(g); };
}

}  // namespace

int main(int argc, char** argv) {
  Global g;
  CLI::App app{
      "vmipctl: inspect and manage the vmip leases of this node (talks to vmip-leased).\n"
      "Exit codes: 0 ok, 1 refused or check failed, 2 usage, 3 daemon unreachable."};
  app.add_option("--socket", g.socket, "vmip-leased socket")->capture_default_str();
  app.add_flag("--json", g.json, "print JSON instead of a table");
  app.require_subcommand(1);
  Runners run;
  for (auto add : {AddLeases, AddPools, AddStatus, AddShow, AddHistory, AddReserve, AddUnreserve,
                   AddRelease, AddCheck})
    add(app, g, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is 0; every usage error is 2, whatever CLI11's own code for it (104, 105...).
    return app.exit(e) == 0 ? 0 : 2;
  }
  return run.at(app.get_subcommands().front()->get_name())();
}
