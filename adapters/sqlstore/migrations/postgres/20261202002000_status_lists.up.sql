-- Bitstring Status Lists (issue 12): each organization's credentials take
-- places in its lists; a list is published as two signed status list
-- credentials (revocation, suspension).
CREATE TABLE status_lists (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES organizations (id),
    seq             integer NOT NULL,
    size            integer NOT NULL,
    allocated       integer NOT NULL,
    key             bytea NOT NULL,
    -- version counts marked changes; published is the version the
    -- documents below were built from: version > published is due work,
    -- written in the transaction of the change (the outbox row).
    version         bigint NOT NULL DEFAULT 0,
    published       bigint NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    revocation_jws  text NOT NULL,
    suspension_jws  text NOT NULL,
    published_at    timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (org_id, seq)
);
CREATE INDEX status_lists_due_idx ON status_lists (next_attempt_at) WHERE version > published;

-- A credential's place in its list ('' for credentials issued before
-- status lists), and its suspension.
ALTER TABLE credentials ADD COLUMN status_list_id text NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN status_index integer NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN suspended_at timestamptz;
ALTER TABLE credentials ADD COLUMN suspension_reason text NOT NULL DEFAULT '';
-- No two credentials share a place; and publishing reads a list's places.
CREATE UNIQUE INDEX credentials_status_slot_idx ON credentials (status_list_id, status_index) WHERE status_list_id <> '';
