// The JSON shapes of the daemon's replies that vmipctl prints with --json (a contract
// scripts rely on), and Kubernetes mode's status rows: the API connection and each
// watched resource's last successful sync.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "text_table.h"
#include "vmip.pb.h"

namespace vmip {

nlohmann::json LeaseJson(const v1::Lease& l);
nlohmann::json EventJson(const v1::Event& e);
nlohmann::json KubernetesJson(const v1::KubernetesStatus& k);
void AddKubernetesRows(const v1::KubernetesStatus& k,
                       const std::function<std::string(int64_t)>& time_text, TextTable* table);

}  // namespace vmip
