-- When the command that redeems a token was sent, as its envelope says: the token existed by then, which bounds the
-- integrations it can have made (Connect/Redemption/RedemptionSettlement.cs).
ALTER TABLE token_redemption_attempts ADD COLUMN sent_at bigint NULL;

-- Settlement asks which tokens of an end user are unresolved, and the sweeper which pending ones are due.
DROP INDEX token_redemption_attempts_pending;
CREATE INDEX token_redemption_attempts_unresolved
    ON token_redemption_attempts (expected_end_user_origin_id)
    WHERE closed_as IS NULL AND settled_at IS NULL;
CREATE INDEX token_redemption_attempts_due
    ON token_redemption_attempts (pending_since)
    WHERE pending_since IS NOT NULL AND settled_at IS NULL;
