// `vmipctl check`: the lease table, the in-memory free sets and the DEL spool must
// agree. Any disagreement is reported in words an operator can act on.
#include <dirent.h>

#include <map>
#include <set>

#include "lease_service.h"
#include "store_transaction.h"

namespace vmip {
namespace {

size_t PendingSpoolRecords(const std::string& dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".pb") == 0) n++;
    }
    closedir(d);
  }
  return n;
}

// Differences between the addresses the database binds and the free sets' view.
void CompareAddresses(const std::string& network, const std::set<IpAddress>& in_db,
                      const std::set<IpAddress>& in_memory, std::vector<std::string>* problems) {
  for (const auto& ip : in_db)
    if (!in_memory.count(ip))
      problems->push_back(network + ": " + ip.ToString() +
                          " is bound in the database but free in memory");
  for (const auto& ip : in_memory)
    if (!in_db.count(ip))
      problems->push_back(network + ": " + ip.ToString() +
                          " is taken in memory but not bound in the database");
}

}  // namespace

v1::CheckIntegrityReply LeaseService::CheckIntegrity(const std::string& spool_dir) {
  std::lock_guard<std::mutex> lock(mu_);
  v1::CheckIntegrityReply reply;
  std::vector<std::string> problems;
  ReadSession session(store_);
  auto dups = store_->DuplicateAddresses();
  auto leases = store_->ListLeases("");
  auto atts = store_->ListAttachments("");
  std::map<std::string, std::map<IpAddress, int64_t>> released;
  Error e =
      store_->ForEachReleased("", [&](const std::string& n, const std::string& ip, int64_t at) {
        if (auto a = ParseIp(ip)) released[n][*a] = at;
      });
  if (!dups.ok() || !leases.ok() || !atts.ok() || e.code) {
    reply.mutable_error()->set_code(kTryAgainLater);
    reply.mutable_error()->set_msg("cannot read the lease table");
    return reply;
  }
  for (const auto& d : dups.value()) problems.push_back("duplicate binding: " + d);

  std::map<std::string, std::set<IpAddress>> bound;
  std::map<int64_t, int> attached;
  for (const auto& a : atts.value()) attached[a.lease_id]++;
  for (const LeaseRow& l : leases.value()) {
    if (l.addresses.empty())
      problems.push_back(l.network + ": lease of " + l.DescribeOwner() + " has no address");
    if (l.owner_kind == OwnerKind::kPod && !attached.count(l.id))
      problems.push_back(l.network + ": pod lease " + l.owner +
                         " has no attachment (leaked; DEL lost)");
    for (const auto& a : l.addresses)
      if (auto ip = ParseIp(a.ip)) bound[l.network].insert(*ip);
    reply.set_addresses_checked(reply.addresses_checked() + l.addresses.size());
  }
  for (const auto& [name, ips] : bound)
    if (!networks_.count(name)) problems.push_back(name + ": addresses bound but no pool is known");
  for (const auto& [name, net] : networks_) {
    CompareAddresses(name, bound[name], net->allocator->taken(), &problems);
    for (const auto& [ip, at] : net->allocator->released())
      if (!released[name].count(ip))
        problems.push_back(name + ": " + ip.ToString() +
                           " is queued for reuse in memory but not in the database");
  }
  if (size_t n = PendingSpoolRecords(spool_dir))
    problems.push_back(std::to_string(n) + " DEL record(s) waiting in " + spool_dir +
                       " (written while the daemon was unreachable; replayed at next start)");
  for (auto& p : problems) reply.add_problems(std::move(p));
  return reply;
}

}  // namespace vmip
