-- Commands already handled, per consumer: the dedupe window of the inbox.
CREATE TABLE inbox (
    message_id     TEXT    NOT NULL,
    consumer       TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,
    received_at    INTEGER NOT NULL,
    PRIMARY KEY (message_id, consumer)
) WITHOUT ROWID;

CREATE INDEX inbox_by_received_at ON inbox (received_at);

-- Links created through Kombo. The link itself is a credential and lives only in the outbox row that carries it.
CREATE TABLE connect_links (
    command_id           TEXT    NOT NULL PRIMARY KEY,
    correlation_id       TEXT    NOT NULL,
    end_user_origin_id   TEXT    NULL,
    integration_category TEXT    NULL,
    integration_tool     TEXT    NULL,
    link_type            TEXT    NOT NULL,
    link_fingerprint     TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL
) WITHOUT ROWID;

-- Integrations the worker has seen connected: the already-connected guard and the answer to a repeated redemption.
CREATE TABLE integrations (
    integration_id             TEXT    NOT NULL PRIMARY KEY,
    tool                       TEXT    NOT NULL,
    end_user_origin_id         TEXT    NULL,
    end_user_organization_name TEXT    NOT NULL,
    end_user_email             TEXT    NULL,
    setup_status               TEXT    NOT NULL,
    connected_at               INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX integrations_by_end_user_and_tool ON integrations (end_user_origin_id, tool);

-- Redeemed connect tokens, by SHA-256 hash only, so a token redeemed twice gets the same event id back.
CREATE TABLE token_redemptions (
    token_hash       TEXT    NOT NULL PRIMARY KEY,
    integration_id   TEXT    NOT NULL REFERENCES integrations (integration_id),
    event_message_id TEXT    NOT NULL,
    redeemed_at      INTEGER NOT NULL
) WITHOUT ROWID;

-- Events and responses waiting for the relay, in commit order.
CREATE TABLE outbox (
    sequence        INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT    NOT NULL,
    message_type    TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    correlation_id  TEXT    NOT NULL,
    conversation_id TEXT    NULL,
    initiator_id    TEXT    NULL,
    request_id      TEXT    NULL,
    destination     TEXT    NULL,
    ordering_key    TEXT    NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NULL,
    sent_at         INTEGER NULL,
    parked_at       INTEGER NULL
);

CREATE INDEX outbox_pending ON outbox (next_attempt_at, sequence) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_unsent_by_ordering_key ON outbox (ordering_key, sequence) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_parked ON outbox (parked_at) WHERE parked_at IS NOT NULL;
