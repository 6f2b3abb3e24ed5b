-- credential.expired (issue 13): when a credential's expiry was announced
-- to webhooks. The announcer takes credentials expired within the last
-- day and not yet announced; a partial index finds them.
ALTER TABLE credentials ADD COLUMN expiry_announced_at TIMESTAMP;
CREATE INDEX credentials_expiry_due_idx ON credentials (expires_at)
    WHERE expiry_announced_at IS NULL AND expires_at IS NOT NULL;
