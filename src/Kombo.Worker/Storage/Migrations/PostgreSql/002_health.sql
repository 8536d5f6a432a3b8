-- One row that the readiness check rewrites through the writer: proof that a write still commits.
CREATE TABLE health (
    id         integer NOT NULL PRIMARY KEY CHECK (id = 1),
    checked_at bigint  NOT NULL
);
