-- Webhooks (issue 13): organizations' endpoints, one delivery per event
-- and endpoint (the outbox, written in the transaction of the change),
-- and every attempt of each (the delivery log).
CREATE TABLE webhooks (
    id                  text PRIMARY KEY,
    org_id              text NOT NULL REFERENCES organizations (id),
    url                 text NOT NULL,
    -- the event types chosen, space-separated
    events              text NOT NULL,
    active              boolean NOT NULL,
    description         text NOT NULL DEFAULT '',
    -- the signing secret's key bytes, encrypted under the master key; the
    -- one a rotation replaced signs too until previous_until
    secret_enc          bytea NOT NULL,
    previous_secret_enc bytea,
    previous_until      timestamptz,
    disabled_reason     text NOT NULL DEFAULT '',
    failing_since       timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    created_by          text NOT NULL
);
CREATE INDEX webhooks_org_idx ON webhooks (org_id, created_at, id);

-- status: pending (due at next_attempt_at), sending (an attempt holds it
-- until next_attempt_at, its lease), succeeded or failed.
CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY,
    org_id          text NOT NULL,
    webhook_id      text NOT NULL,
    message_id      text NOT NULL,
    event_type      text NOT NULL,
    payload         bytea NOT NULL,
    test            boolean NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_status     integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at, id);
CREATE UNIQUE INDEX webhook_deliveries_message_idx ON webhook_deliveries (webhook_id, message_id);

CREATE TABLE webhook_attempts (
    id            text PRIMARY KEY,
    delivery_id   text NOT NULL,
    n             integer NOT NULL,
    at            timestamptz NOT NULL,
    status_code   integer NOT NULL,
    latency_us    bigint NOT NULL,
    response      text NOT NULL,
    error         text NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, at, n);
-- Housekeeping deletes the log past the activity retention, oldest first.
CREATE INDEX webhook_attempts_at_idx ON webhook_attempts (at);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);
