-- Fewer pages per commit (issue 17). Every ADD and DEL writes two events rows, and each
-- index on events costs one more WAL page (4 KiB + a frame header, fsync'd) per commit.
-- No statement reads through events_by_ip or events_by_owner: the history query filters
-- with (?1 = '' OR column = ?1), which SQLite cannot answer from an index, so it walks
-- events newest first by rowid (EXPLAIN QUERY PLAN: SCAN events) and stops at its LIMIT.
-- events_by_at stays: history retention deletes the oldest by `at` through it.
DROP INDEX IF EXISTS events_by_ip;
DROP INDEX IF EXISTS events_by_owner;
