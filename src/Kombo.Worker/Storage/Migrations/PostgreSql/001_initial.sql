-- The PostgreSQL twin of ../001_initial.sql: the same tables, keys and indexes. Times are unix milliseconds (bigint).

-- Commands already handled, per consumer: the dedupe window of the inbox.
CREATE TABLE inbox (
    message_id     text   NOT NULL,
    consumer       text   NOT NULL,
    correlation_id text   NOT NULL,
    outcome        text   NOT NULL,
    received_at    bigint NOT NULL,
    PRIMARY KEY (message_id, consumer)
);

CREATE INDEX inbox_by_received_at ON inbox (received_at);

-- Links created through Kombo. The link itself is a credential and lives only in the outbox row that carries it.
CREATE TABLE connect_links (
    command_id           text   NOT NULL PRIMARY KEY,
    correlation_id       text   NOT NULL,
    end_user_origin_id   text   NULL,
    integration_category text   NULL,
    integration_tool     text   NULL,
    link_type            text   NOT NULL,
    link_fingerprint     text   NOT NULL,
    created_at           bigint NOT NULL,
    expires_at           bigint NOT NULL
);

-- Integrations the worker has seen connected: the already-connected guard and the answer to a repeated redemption.
CREATE TABLE integrations (
    integration_id             text   NOT NULL PRIMARY KEY,
    tool                       text   NOT NULL,
    end_user_origin_id         text   NULL,
    end_user_organization_name text   NOT NULL,
    end_user_email             text   NULL,
    setup_status               text   NOT NULL,
    connected_at               bigint NOT NULL,
    updated_at                 bigint NOT NULL
);

CREATE INDEX integrations_by_end_user_and_tool ON integrations (end_user_origin_id, tool);

-- Redeemed connect tokens, by SHA-256 hash only, so a token redeemed twice gets the same event id back.
CREATE TABLE token_redemptions (
    token_hash       text   NOT NULL PRIMARY KEY,
    integration_id   text   NOT NULL REFERENCES integrations (integration_id),
    event_message_id text   NOT NULL,
    redeemed_at      bigint NOT NULL
);

-- Events and responses waiting for the relay. The sequence is taken at insert: with concurrent transactions it is
-- not the commit order, as it is on SQLite's single writer.
CREATE TABLE outbox (
    sequence        bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id      text    NOT NULL,
    message_type    text    NOT NULL,
    body            text    NOT NULL,
    correlation_id  text    NOT NULL,
    conversation_id text    NULL,
    initiator_id    text    NULL,
    request_id      text    NULL,
    destination     text    NULL,
    ordering_key    text    NULL,
    created_at      bigint  NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint  NOT NULL,
    last_error      text    NULL,
    sent_at         bigint  NULL,
    parked_at       bigint  NULL
);

CREATE INDEX outbox_pending ON outbox (next_attempt_at, sequence) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_unsent_by_ordering_key ON outbox (ordering_key, sequence) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_parked ON outbox (parked_at) WHERE parked_at IS NOT NULL;
