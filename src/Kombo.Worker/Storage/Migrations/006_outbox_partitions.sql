-- Outbox partitions: all rows of one ordering key (one end user) share a partition, and on a shared PostgreSQL
-- database one instance at a time publishes a partition (OutboxPartition, PostgreSqlOutboxPartitions). A SQLite file
-- has one worker, which owns every partition: rows written before this version stay in partition 0 and keep their
-- order, since that worker reads them all.
ALTER TABLE outbox ADD COLUMN partition_id INTEGER NOT NULL DEFAULT 0;

DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (partition_id, next_attempt_at, sequence) WHERE sent_at IS NULL AND parked_at IS NULL;

-- The instances sharing the database, by heartbeat: each takes ceil(partitions / live instances). Unused on SQLite.
CREATE TABLE worker_instances (
    instance_id      TEXT    NOT NULL PRIMARY KEY,
    host             TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    heartbeat_at     INTEGER NOT NULL,
    owned_partitions TEXT    NOT NULL DEFAULT ''
);
