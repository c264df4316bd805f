#include "reply_json.h"

namespace vmip {

nlohmann::json LeaseJson(const v1::Lease& l) {
  nlohmann::json atts = nlohmann::json::array();
  for (const auto& a : l.attachments())
    atts.push_back({{"container_id", a.container_id()},
                    {"ifname", a.ifname()},
                    {"netns", a.netns()},
                    {"node", a.node()},
                    {"attached_at", a.attached_at()}});
  return {{"network", l.network()},
          {"owner_kind", l.owner_kind()},
          {"owner", l.owner()},
          {"ifname", l.ifname()},
          {"ips", l.ips()},
          {"state", l.state()},
          {"attachments", atts},
          {"created_at", l.created_at()},
          {"detached_at", l.detached_at()},
          {"reported_by", l.reported_by()},
          {"owner_uid", l.owner_uid()},
          {"identity_source", l.identity_source()}};
}

nlohmann::json EventJson(const v1::Event& e) {
  return {{"at", e.at()},         {"network", e.network()}, {"kind", e.kind()},
          {"owner", e.owner()},   {"ip", e.ip()},           {"container_id", e.container_id()},
          {"ifname", e.ifname()}, {"node", e.node()}};
}

nlohmann::json KubernetesJson(const v1::KubernetesStatus& k) {
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& s : k.resources())
    resources.push_back({{"resource", s.resource()},
                         {"synced", s.synced()},
                         {"last_sync", s.last_sync()},
                         {"lists", s.lists()},
                         {"last_error", s.last_error()}});
  return {{"server", k.server()},
          {"api", k.api()},
          {"resources", resources},
          {"releaser", k.releaser()},
          {"releasing", k.releasing()}};
}

void AddKubernetesRows(const v1::KubernetesStatus& k,
                       const std::function<std::string(int64_t)>& time_text, TextTable* table) {
  table->Add({"kubernetes_server", k.server()});
  table->Add({"kubernetes_api", k.api()});
  if (!k.resources().empty())  // the deletion watch runs
    table->Add({"kubernetes_releaser", (k.releaser().empty() ? std::string("none") : k.releaser()) +
                                           (k.releasing() ? " (this daemon)" : "")});
  for (const auto& s : k.resources())
    table->Add({"last_sync " + s.resource(),
                (s.last_sync() ? time_text(s.last_sync()) : std::string("never")) +
                    (s.synced() ? "" : " (not synced: " + s.last_error() + ")")});
}

}  // namespace vmip
