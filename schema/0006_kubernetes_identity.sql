-- Kubernetes mode (issue 13):
--   owner_kind 'sts'          a pod a StatefulSet owns keeps its address by name
--   leases.identity_source    which rule named the owner: args, pod-name, container,
--                             kubernetes (shown by vmipctl leases)
--   leases.owner_uid          (since 0001) now filled: the VM's UID from the API server
-- SQLite cannot widen a CHECK in place, so the table is rebuilt (the runner turns
-- foreign keys off around migrations, so dropping the old table cascades nothing).
CREATE TABLE leases_new (
  id               INTEGER PRIMARY KEY,
  network          TEXT NOT NULL,
  owner_kind       TEXT NOT NULL CHECK (owner_kind IN ('vm', 'pod', 'reservation', 'sts')),
  owner            TEXT NOT NULL,
  owner_uid        TEXT NOT NULL DEFAULT '',
  ifname           TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  reservation      TEXT NOT NULL DEFAULT '',
  cluster_revision INTEGER NOT NULL DEFAULT 0,
  handed_to        TEXT NOT NULL DEFAULT '',
  identity_source  TEXT NOT NULL DEFAULT '',
  detached_at      INTEGER NOT NULL DEFAULT 0,
  UNIQUE (network, owner_kind, owner, ifname)
);
INSERT INTO leases_new (id, network, owner_kind, owner, owner_uid, ifname, created_at,
                        reservation, cluster_revision, handed_to, detached_at)
  SELECT id, network, owner_kind, owner, owner_uid, ifname, created_at, reservation,
         cluster_revision, handed_to, detached_at FROM leases;
DROP TABLE leases;
ALTER TABLE leases_new RENAME TO leases;
CREATE INDEX leases_by_owner ON leases(owner_kind, owner);
-- 0005's index went with the old table.
CREATE INDEX leases_by_detached_at ON leases(detached_at) WHERE detached_at != 0;
