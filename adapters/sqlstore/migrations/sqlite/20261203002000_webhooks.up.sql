-- Webhooks (issue 13): organizations' endpoints, one delivery per event
-- and endpoint (the outbox, written in the transaction of the change),
-- and every attempt of each (the delivery log).
CREATE TABLE webhooks (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    url                 TEXT NOT NULL,
    -- the event types chosen, space-separated
    events              TEXT NOT NULL,
    active              BOOLEAN NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    -- the signing secret's key bytes, encrypted under the master key; the
    -- one a rotation replaced signs too until previous_until
    secret_enc          BLOB NOT NULL,
    previous_secret_enc BLOB,
    previous_until      TIMESTAMP,
    disabled_reason     TEXT NOT NULL DEFAULT '',
    failing_since       TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    created_by          TEXT NOT NULL
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id, created_at, id);

-- status: pending (due at next_attempt_at), sending (an attempt holds it
-- until next_attempt_at, its lease), succeeded or failed.
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         BLOB NOT NULL,
    test            BOOLEAN NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at, id);
CREATE UNIQUE INDEX webhook_deliveries_message_idx ON webhook_deliveries (webhook_id, message_id);

CREATE TABLE webhook_attempts (
    id            TEXT PRIMARY KEY,
    delivery_id   TEXT NOT NULL,
    n             INTEGER NOT NULL,
    at            TIMESTAMP NOT NULL,
    status_code   INTEGER NOT NULL,
    latency_us    INTEGER NOT NULL,
    response      TEXT NOT NULL,
    error         TEXT NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, at, n);
-- Housekeeping deletes the log past the activity retention, oldest first.
CREATE INDEX webhook_attempts_at_idx ON webhook_attempts (at);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
