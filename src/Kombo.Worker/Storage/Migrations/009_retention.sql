-- Every webhook id received, kept for Retention:WebhookIds (90 days), far longer than the inbox: Kombo's signature
-- carries no time, so a captured webhook replayed later must be known by its id.
CREATE TABLE webhook_receipts (
    inbox_id    TEXT    NOT NULL PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;

-- What the cleanup deletes by, in bounded batches (Storage/RetentionOptions.cs).
CREATE INDEX webhook_receipts_by_time ON webhook_receipts (received_at);
CREATE INDEX connect_links_by_expiry ON connect_links (expires_at);
CREATE INDEX reconnection_links_by_expiry ON reconnection_links (expires_at);
CREATE INDEX integration_state_changes_by_receipt ON integration_state_changes (received_at);
CREATE INDEX integrations_deleted ON integrations (updated_at) WHERE deleted_at IS NOT NULL;
