// CNI_ARGS ("K=V;K2=V2") and the comma lists inside it (IP=a,b).
// Checks the parser against a naive model of the rules in cni_args.h, that
// re-serialising the result parses to the same map, and that the request builder
// accepts whatever comes out.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cni_args.h"
#include "request_builder.h"

using namespace vmip::cni;

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

// The documented rules, written as plainly as possible.
CniArgs Model(std::string_view raw) {
  CniArgs out;
  std::string pair;
  auto flush = [&] {
    size_t eq = pair.find('=');
    if (!pair.empty() && eq != std::string::npos) out[pair.substr(0, eq)] = pair.substr(eq + 1);
    pair.clear();
  };
  for (char c : raw) {
    if (c == ';')
      flush();
    else
      pair += c;
  }
  flush();
  return out;
}

std::string Serialize(const CniArgs& args) {
  std::string s;
  for (const auto& [k, v] : args) s += k + "=" + v + ";";
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  CniArgs args = ParseCniArgs(raw);
  Require(args == Model(raw));
  for (const auto& [k, v] : args) {
    Require(k.find(';') == std::string::npos && k.find('=') == std::string::npos);
    Require(v.find(';') == std::string::npos);
    Require(ArgValue(args, k) == v);
  }
  Require(ParseCniArgs(Serialize(args)) == args);

  // IP=a,b,,c: no empty items, no commas, same characters in the same order.
  std::string ips = ArgValue(args, kArgIp);
  std::string joined, without_commas;
  for (const auto& item : SplitCommaList(ips)) {
    Require(!item.empty() && item.find(',') == std::string::npos);
    joined += item;
  }
  for (char c : ips)
    if (c != ',') without_commas += c;
  Require(joined == without_commas);

  // Whatever the runtime sends must turn into a request without surprises.
  Invocation in;
  in.args = args;
  in.config.name = "net1";
  vmip::v1::AddRequest req = BuildAddRequest(in);
  Require(req.caller().pod_name() == ArgValue(args, kArgPodName));
  Require(req.caller().vm() == ArgValue(args, kArgVm));
  Require(req.requested_ips_size() == static_cast<int>(SplitCommaList(ips).size()));
  return 0;
}
