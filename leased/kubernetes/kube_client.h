// A small Kubernetes REST client over libcurl: GET one object, LIST every page of a
// collection, WATCH a collection as a stream of JSON events. HTTPS only, the server
// certificate checked against the configured CA, bearer token or client
// certificate. Errors are values; the HTTP status of a failed call is in
// Error.details as "http=<status>" (HttpStatus reads it back).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "kube_config.h"

namespace vmip {

using Json = nlohmann::json;

// The HTTP status behind a client error (0: no answer at all).
int HttpStatus(const Error& e);

struct KubeList {
  std::vector<Json> items;
  std::string resource_version;  // of the whole (complete) list
};

struct KubeCall;  // one HTTP exchange (kube_client.cc)

class KubeClient {
 public:
  explicit KubeClient(KubeConfig config);

  // The object at path; std::nullopt when the server answers 404.
  Result<std::optional<Json>> Get(const std::string& path);
  // Every page of a collection (limit/continue). A continue token the server no
  // longer honours answers 410: the caller lists again from scratch.
  Result<KubeList> List(const std::string& path, int page_size = 500);
  // Watches a collection from resource_version for at most timeout_seconds (the
  // server ends the stream then), with bookmarks. on_event gets each event
  // ({"type":..., "object":...}) and returns false to stop early. An ERROR event
  // is returned as an error carrying its status (410: list again).
  Error Watch(const std::string& path, const std::string& resource_version, int timeout_seconds,
              const std::function<bool(const Json&)>& on_event);

  const KubeConfig& config() const { return config_; }
  // Ends every transfer in progress (and refuses new ones) within ~1 s: shutdown.
  void Stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }
  // "ok" after a call the server answered with 2xx, else the last failure.
  std::string LastOutcome();

 private:
  // The token to send now; a token file is read again after kTokenRefresh.
  std::string Token();
  Error Perform(KubeCall& call);  // Exchange, remembering the outcome
  Error Exchange(KubeCall& call);

  KubeConfig config_;
  std::atomic<bool> stopping_{false};
  std::mutex token_mu_;
  std::string token_;
  std::chrono::steady_clock::time_point token_read_{};
  std::string last_outcome_ = "no call yet";  // guarded by token_mu_
};

}  // namespace vmip
