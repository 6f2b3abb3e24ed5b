-- Bulk issuance jobs, the mail outbox and recorded events (SQLite).

-- A job is processed by one owner at a time under a lease (lease_until);
-- the sweep hands a job whose lease ended to the queue again.
CREATE TABLE bulk_jobs (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    badge_id    TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    status      TEXT NOT NULL,
    total       INTEGER NOT NULL,
    issued      INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    test        BOOLEAN NOT NULL,
    created_by  TEXT NOT NULL,
    api_key_id  TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    started_at  TIMESTAMP,
    finished_at TIMESTAMP,
    owner       TEXT,
    lease_until TIMESTAMP NOT NULL
);
CREATE INDEX bulk_jobs_org_created_idx ON bulk_jobs (org_id, created_at, id);
CREATE INDEX bulk_jobs_lease_idx ON bulk_jobs (lease_until) WHERE status IN ('pending', 'processing');

-- Every row of a submitted file; outcome 'pending' until processed.
CREATE TABLE bulk_rows (
    job_id        TEXT NOT NULL,
    row_no        INTEGER NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    state         TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    credential_id TEXT NOT NULL DEFAULT '',
    code          TEXT NOT NULL DEFAULT '',
    reason        TEXT NOT NULL DEFAULT '',
    processed_at  TIMESTAMP,
    PRIMARY KEY (job_id, row_no)
);

-- Outgoing mail, written with the change it tells about and kept until
-- delivered. One issued or renewed mail per credential at most.
CREATE TABLE mails (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL,
    credential_id   TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE UNIQUE INDEX mails_credential_once_idx ON mails (credential_id, kind)
    WHERE kind IN ('credential.issued', 'credential.renewed');
CREATE INDEX mails_credential_idx ON mails (credential_id, created_at);
CREATE INDEX mails_due_idx ON mails (next_attempt_at) WHERE status IN ('queued', 'sending');

-- What happened, for webhooks to deliver.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL,
    type       TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_org_created_idx ON events (org_id, created_at, id);
