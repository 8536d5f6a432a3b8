-- What Kombo's webhooks tell about an integration: its category and state, when it was announced and deleted.
-- SQLite rebuilds the table to make setup_status nullable (integration-created does not carry it); PostgreSQL alters
-- it in place, so the new columns come last here.

ALTER TABLE integrations
    ALTER COLUMN setup_status DROP NOT NULL,
    ADD COLUMN category         text   NULL,
    ADD COLUMN state            text   NULL,
    ADD COLUMN qa_status        text   NULL,
    -- Kombo's updated_at of the newest state change applied: an older one arriving late does not overwrite it.
    ADD COLUMN state_updated_at bigint NULL,
    -- When IntegrationCreated was written to the outbox: once per integration, whatever Kombo delivers again.
    ADD COLUMN announced_at     bigint NULL,
    -- A deleted integration stays for the redemptions that name it, but no longer counts as connected.
    ADD COLUMN deleted_at       bigint NULL;

DROP INDEX integrations_by_end_user_and_tool;
CREATE INDEX integrations_by_end_user_and_tool ON integrations (end_user_origin_id, tool) WHERE deleted_at IS NULL;

-- Every integration-state-changed received, applied or not (a late, older one is kept here but changes nothing).
CREATE TABLE integration_state_changes (
    webhook_id     text    NOT NULL PRIMARY KEY,
    integration_id text    NOT NULL,
    state          text    NOT NULL,
    setup_status   text    NULL,
    qa_status      text    NOT NULL,
    updated_at     bigint  NOT NULL,
    received_at    bigint  NOT NULL,
    applied        boolean NOT NULL
);

-- Reconnection links created through Kombo, like connect_links: the link itself lives only in the outbox row.
CREATE TABLE reconnection_links (
    command_id       text   NOT NULL PRIMARY KEY,
    correlation_id   text   NOT NULL,
    integration_id   text   NOT NULL,
    link_type        text   NOT NULL,
    link_fingerprint text   NOT NULL,
    created_at       bigint NOT NULL,
    expires_at       bigint NOT NULL
);
