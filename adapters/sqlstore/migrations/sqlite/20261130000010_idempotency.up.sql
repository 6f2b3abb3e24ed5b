-- Responses to requests sent with an Idempotency-Key (docs/idempotency.md),
-- per scope (the caller) and key. A row is an unfinished claim (status 0)
-- held by token until lease_until, then the response; it may be deleted
-- from expires_at on.
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    idem_key     TEXT NOT NULL,
    token        TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    lease_until  TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    header       TEXT NOT NULL DEFAULT '{}',
    body         BLOB,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
