-- Every redemption of a connect token, written before its first Kombo call. Kombo's tokens are single-use: once an
-- attempt may have reached Kombo, a later "invalid or expired" no longer says the token was bad, only that it is spent.
CREATE TABLE token_redemption_attempts (
    token_hash                  TEXT    NOT NULL,
    command_id                  TEXT    NOT NULL,
    correlation_id              TEXT    NOT NULL,
    expected_end_user_origin_id TEXT    NULL,
    skip_origin_check           INTEGER NOT NULL,
    started_at                  INTEGER NOT NULL,
    -- NULL while this attempt may have spent the token; set once Kombo's answer shows it did not (unknown token, key
    -- refused, ...) or the redemption was recorded.
    closed_as                   TEXT    NULL,
    -- Set while the command waits for the integration-created webhook that settles it, with what answering it later
    -- needs (the command itself is acknowledged).
    pending_since               INTEGER NULL,
    conversation_id             TEXT    NULL,
    request_id                  TEXT    NULL,
    response_address            TEXT    NULL,
    settled_at                  INTEGER NULL,
    settled_as                  TEXT    NULL,
    PRIMARY KEY (token_hash, command_id)
) WITHOUT ROWID;

CREATE INDEX token_redemption_attempts_pending
    ON token_redemption_attempts (expected_end_user_origin_id, started_at)
    WHERE pending_since IS NOT NULL AND settled_at IS NULL;

CREATE INDEX token_redemptions_by_integration ON token_redemptions (integration_id);
