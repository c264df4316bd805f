// One network as the lease service holds it in memory: its pool and the free sets
// built from the database. LeaseService::mu_ guards every field.
#pragma once

#include <memory>
#include <string>

#include "allocator.h"
#include "pool.h"

namespace vmip {

struct NetworkState {
  std::unique_ptr<Pool> pool;
  std::unique_ptr<Allocator> allocator;
  std::string config;           // serialized PoolConfig, to notice changes
  bool cluster_synced = false;  // remote bindings loaded into the free sets
  bool saved = false;           // config is the one in the pools table
};

}  // namespace vmip
