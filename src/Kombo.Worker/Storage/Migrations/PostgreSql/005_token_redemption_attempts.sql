-- Every redemption of a connect token, written before its first Kombo call. Kombo's tokens are single-use: once an
-- attempt may have reached Kombo, a later "invalid or expired" no longer says the token was bad, only that it is spent.
CREATE TABLE token_redemption_attempts (
    token_hash                  text    NOT NULL,
    command_id                  text    NOT NULL,
    correlation_id              text    NOT NULL,
    expected_end_user_origin_id text    NULL,
    skip_origin_check           boolean NOT NULL,
    started_at                  bigint  NOT NULL,
    -- NULL while this attempt may have spent the token; set once Kombo's answer shows it did not (unknown token, key
    -- refused, ...) or the redemption was recorded.
    closed_as                   text    NULL,
    -- Set while the command waits for the integration-created webhook that settles it, with what answering it later
    -- needs (the command itself is acknowledged).
    pending_since               bigint  NULL,
    conversation_id             text    NULL,
    request_id                  text    NULL,
    response_address            text    NULL,
    settled_at                  bigint  NULL,
    settled_as                  text    NULL,
    PRIMARY KEY (token_hash, command_id)
);

CREATE INDEX token_redemption_attempts_pending
    ON token_redemption_attempts (expected_end_user_origin_id, started_at)
    WHERE pending_since IS NOT NULL AND settled_at IS NULL;

CREATE INDEX token_redemptions_by_integration ON token_redemptions (integration_id);
