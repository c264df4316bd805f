#include "request_builder.h"

namespace vmip::cni {

std::vector<std::string> ResolveRequestedIps(const NetConfig& config, const CniArgs& args) {
  if (!config.runtime_ips.empty()) return config.runtime_ips;
  if (config.args_ips) return *config.args_ips;
  return SplitCommaList(ArgValue(args, kArgIp));
}

vmip::v1::Caller BuildCaller(const Invocation& in) {
  vmip::v1::Caller c;
  c.set_network(in.config.name);
  c.set_container_id(in.env.container_id);
  c.set_ifname(in.env.ifname);
  c.set_netns(in.env.netns);
  c.set_pod_namespace(ArgValue(in.args, kArgPodNamespace));
  c.set_pod_name(ArgValue(in.args, kArgPodName));
  c.set_pod_uid(ArgValue(in.args, kArgPodUid));
  c.set_vm(in.config.args_vm.value_or(ArgValue(in.args, kArgVm)));
  c.set_reservation(in.config.args_reservation.value_or(ArgValue(in.args, kArgReservation)));
  return c;
}

vmip::v1::AddRequest BuildAddRequest(const Invocation& in) {
  vmip::v1::AddRequest r;
  *r.mutable_caller() = BuildCaller(in);
  *r.mutable_pool() = in.config.pool;
  for (auto& ip : ResolveRequestedIps(in.config, in.args)) r.add_requested_ips(std::move(ip));
  return r;
}

vmip::v1::DelRequest BuildDelRequest(const Invocation& in) {
  vmip::v1::DelRequest r;
  *r.mutable_caller() = BuildCaller(in);
  return r;
}

vmip::v1::CheckRequest BuildCheckRequest(const Invocation& in) {
  vmip::v1::CheckRequest r;
  *r.mutable_caller() = BuildCaller(in);
  *r.mutable_pool() = in.config.pool;
  for (const auto& ip : in.config.prev_result_ips) r.add_expected_ips(ip);
  return r;
}

vmip::v1::GcRequest BuildGcRequest(const Invocation& in) {
  vmip::v1::GcRequest r;
  r.set_network(in.config.name);
  for (const auto& a : in.config.valid_attachments) *r.add_valid() = a;
  return r;
}

vmip::v1::StatusRequest BuildStatusRequest(const Invocation& in) {
  vmip::v1::StatusRequest r;
  r.set_network(in.config.name);
  *r.mutable_pool() = in.config.pool;
  return r;
}

}  // namespace vmip::cni
