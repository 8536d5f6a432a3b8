-- What Kombo's webhooks tell about an integration: its category and state, when it was announced and deleted.
-- setup_status becomes nullable (integration-created does not carry it), which SQLite only allows by rebuilding the
-- table. token_redemptions, which refers to it, is rebuilt beside it, so that no row ever points to a missing table:
-- renaming a table rewrites the references to it.

CREATE TABLE integrations_rebuilt (
    integration_id             TEXT    NOT NULL PRIMARY KEY,
    tool                       TEXT    NOT NULL,
    category                   TEXT    NULL,
    end_user_origin_id         TEXT    NULL,
    end_user_organization_name TEXT    NOT NULL,
    end_user_email             TEXT    NULL,
    setup_status               TEXT    NULL,
    state                      TEXT    NULL,
    qa_status                  TEXT    NULL,
    -- Kombo's updated_at of the newest state change applied: an older one arriving late does not overwrite it.
    state_updated_at           INTEGER NULL,
    connected_at               INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    -- When IntegrationCreated was written to the outbox: once per integration, whatever Kombo delivers again.
    announced_at               INTEGER NULL,
    -- A deleted integration stays for the redemptions that name it, but no longer counts as connected.
    deleted_at                 INTEGER NULL
) WITHOUT ROWID;

INSERT INTO integrations_rebuilt (integration_id, tool, end_user_origin_id, end_user_organization_name, end_user_email,
                                  setup_status, connected_at, updated_at)
SELECT integration_id, tool, end_user_origin_id, end_user_organization_name, end_user_email,
       setup_status, connected_at, updated_at
FROM integrations;

CREATE TABLE token_redemptions_rebuilt (
    token_hash       TEXT    NOT NULL PRIMARY KEY,
    integration_id   TEXT    NOT NULL REFERENCES integrations_rebuilt (integration_id),
    event_message_id TEXT    NOT NULL,
    redeemed_at      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO token_redemptions_rebuilt SELECT token_hash, integration_id, event_message_id, redeemed_at FROM token_redemptions;

DROP TABLE token_redemptions;
DROP TABLE integrations;
ALTER TABLE integrations_rebuilt RENAME TO integrations;
ALTER TABLE token_redemptions_rebuilt RENAME TO token_redemptions;

CREATE INDEX integrations_by_end_user_and_tool ON integrations (end_user_origin_id, tool) WHERE deleted_at IS NULL;

-- Every integration-state-changed received, applied or not (a late, older one is kept here but changes nothing).
CREATE TABLE integration_state_changes (
    webhook_id     TEXT    NOT NULL PRIMARY KEY,
    integration_id TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    setup_status   TEXT    NULL,
    qa_status      TEXT    NOT NULL,
    updated_at     INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    applied        INTEGER NOT NULL
) WITHOUT ROWID;

-- Reconnection links created through Kombo, like connect_links: the link itself lives only in the outbox row.
CREATE TABLE reconnection_links (
    command_id       TEXT    NOT NULL PRIMARY KEY,
    correlation_id   TEXT    NOT NULL,
    integration_id   TEXT    NOT NULL,
    link_type        TEXT    NOT NULL,
    link_fingerprint TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL
) WITHOUT ROWID;
