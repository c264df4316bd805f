#include "owner_locks.h"

namespace vmip {

OwnerLocks::Held OwnerLocks::Lock(std::vector<std::string> keys) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    for (const std::string& k : keys)
      if (held_.count(k)) return false;
    return true;
  });
  // A request may name one key twice (an owner key equal to its container key):
  // the set keeps one entry, and Unlock erases it once.
  held_.insert(keys.begin(), keys.end());
  return Held(this, std::move(keys));
}

void OwnerLocks::Unlock(const std::vector<std::string>& keys) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& k : keys) held_.erase(k);
  }
  cv_.notify_all();
}

size_t OwnerLocks::held() {
  std::lock_guard<std::mutex> lock(mu_);
  return held_.size();
}

}  // namespace vmip
