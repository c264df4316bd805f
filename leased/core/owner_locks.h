// Per-owner locks for cluster mode: an ADD's etcd round trips run outside the
// node-wide LeaseService::mu_, so something else must keep two requests about the
// same owner (or the same container) from interleaving. Each request locks the keys
// it is about here first; requests about other owners never wait on it.
// Order: these locks are taken before mu_ and never while holding it.
#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace vmip {

class OwnerLocks {
 public:
  // Holds a set of keys until destroyed.
  class Held {
   public:
    Held(OwnerLocks* table, std::vector<std::string> keys)
        : table_(table), keys_(std::move(keys)) {}
    Held(Held&& other) noexcept : table_(other.table_), keys_(std::move(other.keys_)) {
      other.table_ = nullptr;
    }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    Held& operator=(Held&&) = delete;
    ~Held() {
      if (table_) table_->Unlock(keys_);
    }

   private:
    OwnerLocks* table_;
    std::vector<std::string> keys_;
  };

  // Waits until none of `keys` is held, then holds them all at once: taking them
  // together (never one by one) means two requests can never wait on each other.
  Held Lock(std::vector<std::string> keys);
  // Keys held right now (tests, metrics).
  size_t held();

 private:
  void Unlock(const std::vector<std::string>& keys);

  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> held_;
};

}  // namespace vmip
