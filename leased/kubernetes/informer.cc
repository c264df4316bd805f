#include "informer.h"

#include <ctime>
#include <random>

#include "decision_log.h"

namespace vmip {
namespace {

constexpr int64_t kBackoffMinMs = 200;
constexpr int64_t kBackoffMaxMs = 30000;

int64_t Now() {
  return static_cast<int64_t>(time(nullptr));
}

// Full jitter: a random wait up to the (doubling) ceiling, so many daemons that lost
// the API at once do not come back at once.
int64_t Jittered(int64_t ceiling) {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  return kBackoffMinMs + static_cast<int64_t>(gen() % static_cast<uint64_t>(ceiling));
}

}  // namespace

std::string ObjectKey(const Json& obj) {
  const Json& meta = obj.value("metadata", Json::object());
  return meta.value("namespace", "") + "/" + meta.value("name", "");
}

Informer::Informer(KubeClient* client, std::string name, std::string path, Keep keep,
                   int watch_timeout_seconds)
    : client_(client),
      name_(std::move(name)),
      path_(std::move(path)),
      keep_(std::move(keep)),
      watch_timeout_(watch_timeout_seconds) {}

Informer::~Informer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // a watch ends within its timeout
}

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

InformerState Informer::State() {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

std::map<std::string, std::string> Informer::Objects() {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_;
}

bool Informer::Pause(int64_t millis) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, std::chrono::milliseconds(millis), [this] { return stop_; });
}

void Informer::Failed(const Error& e) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.last_error = e.msg;
}

Error Informer::ListOnce(std::string* resource_version) {
  auto list = client_->List(path_);
  if (!list.ok()) {
    // Never judge from a list that failed: nothing counts as deleted until the next
    // complete one.
    std::lock_guard<std::mutex> lock(mu_);
    state_.synced = false;
    state_.last_error = list.error().msg;
    return list.error();
  }
  std::map<std::string, std::string> fresh;
  for (const Json& item : list.value().items) fresh[ObjectKey(item)] = keep_(item);
  std::lock_guard<std::mutex> lock(mu_);
  objects_ = std::move(fresh);
  state_.synced = true;
  state_.last_sync = Now();
  state_.lists++;
  state_.last_error.clear();
  *resource_version = list.value().resource_version;
  return Error{};
}

void Informer::Apply(const std::string& type, const Json& obj) {
  std::lock_guard<std::mutex> lock(mu_);
  state_.last_sync = Now();
  if (type == "ADDED" || type == "MODIFIED")
    objects_[ObjectKey(obj)] = keep_(obj);
  else if (type == "DELETED")
    objects_.erase(ObjectKey(obj));
}

Error Informer::WatchOnce(std::string* resource_version) {
  return client_->Watch(path_, *resource_version, watch_timeout_, [&](const Json& ev) {
    const Json& obj = ev.value("object", Json::object());
    std::string rv = obj.value("metadata", Json::object()).value("resourceVersion", "");
    if (!rv.empty()) *resource_version = rv;  // BOOKMARK carries only this
    std::string type = ev["type"].get<std::string>();
    if (type != "BOOKMARK") Apply(type, obj);
    std::lock_guard<std::mutex> lock(mu_);
    return !stop_;
  });
}

void Informer::Run() {
  int64_t ceiling = kBackoffMinMs;
  std::string rv;
  bool listed = false;      // rv comes from a complete list: watch from it
  bool fresh_list = false;  // and no watch has used it yet
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    Error e = listed ? WatchOnce(&rv) : ListOnce(&rv);
    if (!e.code) {
      ceiling = kBackoffMinMs;
      fresh_list = !listed;
      listed = true;  // after a list: watch; after a watch that ended: watch on
      continue;
    }
    bool gone = HttpStatus(e) == 410;
    if (gone)
      Log(LogLevel::kInfo,
          "op=relist" + Field("resource", name_) + Field("from", rv) + " msg=\"" + e.msg + "\"");
    listed = false;  // after any failure, a fresh list tells what changed meanwhile
    // A 410 means list again at once, unless the list just made is already too old:
    // then wait like after any failure rather than spin.
    if (gone && !fresh_list) continue;
    fresh_list = false;
    Failed(e);
    if (!gone)
      Log(LogLevel::kWarn, "op=watch" + Field("resource", name_) + " msg=\"" + e.msg + "\"");
    if (!Pause(Jittered(ceiling))) return;
    ceiling = std::min(ceiling * 2, kBackoffMaxMs);
  }
}

}  // namespace vmip
