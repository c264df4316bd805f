// What the informers report as they run, for the daemon's metrics (README "Metrics").
// Plain callbacks so this library needs nothing from vmip_metrics; main.cc points them
// at DaemonMetrics. Each may be empty; each is called from an informer's own thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace vmip {

// Why a watch started over: the server said 410 Gone (list again), the call failed
// (backoff, then list again), or the stream ended at its timeout (watch on).
enum class WatchRestart { kGone, kError, kTimeout };
const char* WatchRestartName(WatchRestart why);

struct SyncHooks {
  // An informer for resource starts: its counters can start at 0.
  std::function<void(const std::string& resource)> started;
  std::function<void(const std::string& resource, WatchRestart why)> watch_restarted;
  // The informer's copy is known current as of unix_seconds: a complete list, a
  // watch event (bookmarks too) or a watch that ended cleanly.
  std::function<void(const std::string& resource, int64_t unix_seconds)> synced;
  std::function<void(const std::string& resource)> list_failed;
};

}  // namespace vmip
