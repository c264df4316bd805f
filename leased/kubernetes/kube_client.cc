#include "kube_client.h"

#include <curl/curl.h>

#include <memory>

namespace vmip {
namespace {

constexpr std::chrono::seconds kTokenRefresh{60};
constexpr long kConnectTimeoutMs = 2000;
constexpr long kRequestTimeoutMs = 3000;  // an ADD waits for at most two of these

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Error HttpError(const std::string& what, int status, const std::string& body) {
  std::string reason;
  auto parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.value("message", Json()).is_string())
    reason = parsed["message"].get<std::string>();
  std::string hint = status == 401   ? " (unauthorized: check the token or client certificate)"
                     : status == 403 ? " (forbidden: check the RBAC rules in deploy/kubernetes)"
                                     : "";
  return MakeError(kTryAgainLater,
                   "kubernetes API: " + what + " answered HTTP " + std::to_string(status) + hint +
                       (reason.empty() ? "" : ": " + reason),
                   "http=" + std::to_string(status));
}

std::string Query(const std::string& path, const std::string& params) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + params;
}

}  // namespace

int HttpStatus(const Error& e) {
  if (e.details.rfind("http=", 0) != 0) return 0;
  return atoi(e.details.c_str() + 5);
}

struct KubeCall {
  std::string path;
  long timeout_ms = kRequestTimeoutMs;
  std::string body;                                 // whole answer (non-streaming)
  std::function<bool(const std::string&)> on_line;  // streaming: one JSON line each
  bool stopped = false;                             // on_line asked to stop
  long status = 0;
};

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {
  GlobalInit();
}

std::string KubeClient::Token() {
  if (config_.token_file.empty()) return config_.token;
  std::lock_guard<std::mutex> lock(token_mu_);
  auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - token_read_ >= kTokenRefresh) {
    auto read = ReadWholeFile(config_.token_file, "the token file");
    if (read.ok()) {
      token_ = read.value();
      while (!token_.empty() && (token_.back() == '\n' || token_.back() == '\r')) token_.pop_back();
      token_read_ = now;
    }
  }
  return token_;
}

static size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* call = static_cast<KubeCall*>(user);
  call->body.append(data, size * n);
  if (!call->on_line) return size * n;
  size_t start = 0, nl;
  while ((nl = call->body.find('\n', start)) != std::string::npos) {
    std::string line = call->body.substr(start, nl - start);
    start = nl + 1;
    if (!line.empty() && !call->on_line(line)) {
      call->stopped = true;
      return 0;  // aborts the transfer
    }
  }
  call->body.erase(0, start);
  return size * n;
}

std::string KubeClient::LastOutcome() {
  std::lock_guard<std::mutex> lock(token_mu_);
  return last_outcome_;
}

Error KubeClient::Perform(KubeCall& call) {
  Error e = Exchange(call);
  std::lock_guard<std::mutex> lock(token_mu_);
  last_outcome_ = e.code && HttpStatus(e) != 404 ? e.msg : "ok";
  return e;
}

// libcurl asks about once a second (and on every chunk): a stopping client aborts.
static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<KubeClient*>(user)->stopping() ? 1 : 0;
}

Error KubeClient::Exchange(KubeCall& call) {
  if (stopping_) return MakeError(kTryAgainLater, "kubernetes client is stopping");
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return MakeError(kInternal, "cannot start a libcurl session");
  CURL* h = curl.get();
  std::string url = config_.server + call.path;
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, call.timeout_ms);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_blob ca{const_cast<char*>(config_.ca_pem.data()), config_.ca_pem.size(), CURL_BLOB_COPY};
  if (!config_.ca_pem.empty()) curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
  curl_blob cert{const_cast<char*>(config_.client_cert_pem.data()), config_.client_cert_pem.size(),
                 CURL_BLOB_COPY};
  curl_blob key{const_cast<char*>(config_.client_key_pem.data()), config_.client_key_pem.size(),
                CURL_BLOB_COPY};
  if (!config_.client_cert_pem.empty()) {
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  std::string token = Token();
  curl_slist* list = curl_slist_append(nullptr, "Accept: application/json");
  if (!token.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + token).c_str());
  headers.reset(list);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnData);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &call);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &call.status);
  if (call.stopped) return Error{};
  if (rc != CURLE_OK && !(call.on_line && rc == CURLE_OPERATION_TIMEDOUT && call.status == 200))
    return MakeError(kTryAgainLater, "kubernetes API " + config_.server + " unreachable: " +
                                         (err[0] ? err : curl_easy_strerror(rc)));
  if (call.status != 200) return HttpError(call.path, static_cast<int>(call.status), call.body);
  return Error{};
}

Result<std::optional<Json>> KubeClient::Get(const std::string& path) {
  KubeCall call;
  call.path = path;
  Error e = Perform(call);
  if (HttpStatus(e) == 404) return std::optional<Json>();
  if (e.code) return e;
  auto parsed = Json::parse(call.body, nullptr, false);
  if (!parsed.is_object())
    return MakeError(kTryAgainLater, "kubernetes API: " + path + " answered no JSON object");
  return std::optional<Json>(std::move(parsed));
}

Result<KubeList> KubeClient::List(const std::string& path, int page_size) {
  KubeList out;
  std::string cont;
  do {
    KubeCall call;
    call.path = Query(path, "limit=" + std::to_string(page_size));
    if (!cont.empty()) call.path += "&continue=" + cont;
    if (Error e = Perform(call); e.code) return e;
    auto page = Json::parse(call.body, nullptr, false);
    if (!page.is_object() || !page["items"].is_array() || !page["metadata"].is_object())
      return MakeError(kTryAgainLater, "kubernetes API: " + path + " answered no list");
    for (auto& item : page["items"]) out.items.push_back(std::move(item));
    out.resource_version = page["metadata"].value("resourceVersion", "");
    cont = page["metadata"].value("continue", "");
  } while (!cont.empty());
  return out;
}

Error KubeClient::Watch(const std::string& path, const std::string& resource_version,
                        int timeout_seconds, const std::function<bool(const Json&)>& on_event) {
  KubeCall call;
  call.path = Query(path, "watch=1&allowWatchBookmarks=true&resourceVersion=" + resource_version +
                              "&timeoutSeconds=" + std::to_string(timeout_seconds));
  call.timeout_ms = (timeout_seconds + 5) * 1000L;  // the server ends it first
  Error event_error;
  call.on_line = [&](const std::string& line) {
    auto ev = Json::parse(line, nullptr, false);
    if (!ev.is_object() || !ev["type"].is_string()) {
      event_error = MakeError(kTryAgainLater, "kubernetes API: watch " + path + " sent no event");
      return false;
    }
    if (ev["type"] == "ERROR") {
      const Json& status = ev["object"];
      int code = status.is_object() ? status.value("code", 500) : 500;
      event_error = HttpError("watch " + path, code, status.dump());
      return false;
    }
    return on_event(ev);
  };
  Error e = Perform(call);
  return event_error.code ? event_error : e;
}

}  // namespace vmip
