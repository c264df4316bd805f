-- vmip lease database, version 1. Applied by vmip-leased at start inside one
-- transaction; PRAGMA user_version records it. Never edit: add 0002_*.sql instead.

-- The last pool config seen for each network (the plugin sends it with every call).
CREATE TABLE pools (
  network    TEXT PRIMARY KEY,
  config     BLOB NOT NULL,     -- serialized vmip.v1.PoolConfig
  updated_at INTEGER NOT NULL
);

-- A lease: one owner's hold on one interface of one network. VM leases outlive
-- their attachments; pod leases die with their last attachment.
CREATE TABLE leases (
  id         INTEGER PRIMARY KEY,
  network    TEXT NOT NULL,
  owner_kind TEXT NOT NULL CHECK (owner_kind IN ('vm', 'pod', 'reservation')),
  owner      TEXT NOT NULL,     -- 'namespace/vm', container ID, or reservation name
  owner_uid  TEXT NOT NULL DEFAULT '',
  ifname     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (network, owner_kind, owner, ifname)
);

-- The addresses of a lease, one per range set (two for dual stack).
CREATE TABLE addresses (
  lease_id  INTEGER NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  network   TEXT NOT NULL,
  range_set INTEGER NOT NULL,
  ip        TEXT NOT NULL,      -- canonical text form, no prefix
  UNIQUE (network, ip),         -- never two owners on one address
  UNIQUE (lease_id, range_set)
);

-- A sandbox currently using a lease. DEL removes exactly one row.
CREATE TABLE attachments (
  network      TEXT NOT NULL,
  container_id TEXT NOT NULL,
  ifname       TEXT NOT NULL,
  lease_id     INTEGER NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  netns        TEXT NOT NULL DEFAULT '',
  node         TEXT NOT NULL DEFAULT '',
  attached_at  INTEGER NOT NULL,
  PRIMARY KEY (network, container_id, ifname)
);
CREATE INDEX attachments_by_lease ON attachments(lease_id);

-- Addresses given back, with when: the allocator reuses the oldest first.
CREATE TABLE released (
  network     TEXT NOT NULL,
  ip          TEXT NOT NULL,
  released_at INTEGER NOT NULL,
  PRIMARY KEY (network, ip)
);

-- Every state change, for `vmipctl history`.
CREATE TABLE events (
  id           INTEGER PRIMARY KEY,
  at           INTEGER NOT NULL,
  network      TEXT NOT NULL,
  kind         TEXT NOT NULL,   -- bind, attach, detach, release, ...
  owner        TEXT NOT NULL DEFAULT '',
  ip           TEXT NOT NULL DEFAULT '',
  container_id TEXT NOT NULL DEFAULT '',
  ifname       TEXT NOT NULL DEFAULT '',
  node         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_by_ip ON events(network, ip);
CREATE INDEX events_by_owner ON events(owner);
