-- Outbox partitions: all rows of one ordering key (one end user) share a partition, and one instance at a time
-- publishes a partition, holding it through a session advisory lock (OutboxPartition, PostgreSqlOutboxPartitions).
ALTER TABLE outbox ADD COLUMN partition_id integer NOT NULL DEFAULT 0;

DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (partition_id, next_attempt_at, sequence) WHERE sent_at IS NULL AND parked_at IS NULL;

-- The instances sharing the database, by heartbeat: each takes ceil(partitions / live instances).
CREATE TABLE worker_instances (
    instance_id      text   NOT NULL PRIMARY KEY,
    host             text   NOT NULL,
    started_at       bigint NOT NULL,
    heartbeat_at     bigint NOT NULL,
    owned_partitions text   NOT NULL DEFAULT ''
);

-- The outbox and inbox churn: vacuum them long before the default 20% of dead rows.
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.02);
ALTER TABLE inbox SET (autovacuum_vacuum_scale_factor = 0.02);
