// Keeps an up-to-date copy of one resource collection: LIST (every page) and then
// WATCH from the list's resourceVersion with bookmarks and a bounded timeout, again
// and again; a 410 Gone (as an answer or as an ERROR event inside a 200 stream)
// means list again; any other failure backs off with jitter. Runs in its own
// thread. Objects are kept as "namespace/name" -> UID plus what the owner needs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "kube_client.h"

namespace vmip {

struct InformerState {
  bool synced = false;     // a complete list arrived and no list failed since
  int64_t last_sync = 0;   // unix seconds of the last complete list or watch event
  int64_t lists = 0;       // complete lists so far
  std::string last_error;  // "" when the last call worked
};

class Informer {
 public:
  // name: "virtualmachines", ...; path: the all-namespace collection.
  // keep: what to remember of an object (e.g. its UID, or UID + replicas).
  using Keep = std::function<std::string(const Json& obj)>;
  Informer(KubeClient* client, std::string name, std::string path, Keep keep,
           int watch_timeout_seconds);
  ~Informer();

  void Start();
  const std::string& name() const { return name_; }
  InformerState State();
  // A copy of "namespace/name" -> kept value; valid only while State().synced.
  std::map<std::string, std::string> Objects();

 private:
  void Run();
  Error ListOnce(std::string* resource_version);
  // Watches until the stream ends; 410 and other failures come back as errors.
  Error WatchOnce(std::string* resource_version);
  void Apply(const std::string& type, const Json& obj);
  void Failed(const Error& e);
  // Sleeps (interruptible by the destructor); false once stopping.
  bool Pause(int64_t millis);

  KubeClient* client_;
  const std::string name_, path_;
  const Keep keep_;
  const int watch_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, std::string> objects_;
  InformerState state_;
  std::thread thread_;
};

// "namespace/name" of an object.
std::string ObjectKey(const Json& obj);

}  // namespace vmip
