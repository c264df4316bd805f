-- Cluster mode ownership (issue 11): what a node needs so that every destructive
-- etcd operation compares exactly what it means to delete.
--   leases.cluster_revision  mod revision of the owner's binding in the cluster store
--                            when this node last saw or wrote it (0: standalone/unknown)
--   leases.handed_to         node that adopted this binding while it was still
--                            attached here: the copy is dropped with its last attachment
--   attachments.cluster_token  makes this attachment's cluster record unique, so a late
--                            detach of an older attachment with the same key is a no-op
ALTER TABLE leases ADD COLUMN cluster_revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE leases ADD COLUMN handed_to TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN cluster_token TEXT NOT NULL DEFAULT '';
