-- Responses to requests sent with an Idempotency-Key (docs/idempotency.md),
-- per scope (the caller) and key. A row is an unfinished claim (status 0)
-- held by token until lease_until, then the response; it may be deleted
-- from expires_at on.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    idem_key     text NOT NULL,
    token        text NOT NULL,
    request_hash bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    lease_until  timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    status       integer NOT NULL DEFAULT 0,
    header       text NOT NULL DEFAULT '{}',
    body         bytea,
    PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);
