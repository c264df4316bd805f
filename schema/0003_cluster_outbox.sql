-- Cluster mode: changes the node committed locally but has not yet applied to the
-- cluster store (etcd unreachable). Written in the same transaction as the local
-- change and retried until applied, so DEL never waits for etcd.
CREATE TABLE cluster_outbox (
  id      INTEGER PRIMARY KEY,
  op      TEXT NOT NULL CHECK (op IN ('detach', 'release')),
  network TEXT NOT NULL,
  key     TEXT NOT NULL,             -- attachment or owner key
  value   TEXT NOT NULL DEFAULT ''   -- for release: the addresses, comma separated
);
