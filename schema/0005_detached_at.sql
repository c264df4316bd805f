-- Lease policies (issue 16).
--   leases.detached_at  unix seconds the binding lost its last attachment; 0 while
--                       attached (and for pods and reservations, which never expire).
--                       Set by the DEL that detaches the last attachment, cleared by
--                       the next attach; --detached-ttl / ipam.detachedTTL count from it.
--                       -1 (cluster mode): detached here but attached on another node
--                       (a migration that failed back to the source); the clock starts
--                       when this node sees that attachment go.
-- VM bindings already detached when this runs get the migration's time, not the time
-- of their last event: an upgrade must never release an address by itself, so every
-- binding gets a full TTL from the moment the operator can see it in `vmipctl leases`
-- (and older versions did not write a detach event for every way a binding lost its
-- attachments, so the last event would be a guess).
ALTER TABLE leases ADD COLUMN detached_at INTEGER NOT NULL DEFAULT 0;
UPDATE leases SET detached_at = CAST(strftime('%s', 'now') AS INTEGER)
  WHERE owner_kind = 'vm' AND id NOT IN (SELECT lease_id FROM attachments);
-- The expiry job reads only detached bindings; retention deletes the oldest events.
CREATE INDEX leases_by_detached_at ON leases(detached_at) WHERE detached_at != 0;
CREATE INDEX events_by_at ON events(at);
