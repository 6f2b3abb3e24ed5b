-- Bulk issuance jobs, the mail outbox and recorded events (PostgreSQL).

-- A job is processed by one owner at a time under a lease (lease_until);
-- the sweep hands a job whose lease ended to the queue again.
CREATE TABLE bulk_jobs (
    id          text PRIMARY KEY,
    org_id      text NOT NULL,
    badge_id    text NOT NULL,
    file_name   text NOT NULL,
    status      text NOT NULL,
    total       integer NOT NULL,
    issued      integer NOT NULL DEFAULT 0,
    skipped     integer NOT NULL DEFAULT 0,
    failed      integer NOT NULL DEFAULT 0,
    test        boolean NOT NULL,
    created_by  text NOT NULL,
    api_key_id  text NOT NULL DEFAULT '',
    error       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    started_at  timestamptz,
    finished_at timestamptz,
    owner       text,
    lease_until timestamptz NOT NULL
);
CREATE INDEX bulk_jobs_org_created_idx ON bulk_jobs (org_id, created_at, id);
CREATE INDEX bulk_jobs_lease_idx ON bulk_jobs (lease_until) WHERE status IN ('pending', 'processing');

-- Every row of a submitted file; outcome 'pending' until processed.
CREATE TABLE bulk_rows (
    job_id        text NOT NULL,
    row_no        integer NOT NULL,
    name          text NOT NULL,
    email         text NOT NULL,
    state         text NOT NULL,
    outcome       text NOT NULL,
    credential_id text NOT NULL DEFAULT '',
    code          text NOT NULL DEFAULT '',
    reason        text NOT NULL DEFAULT '',
    processed_at  timestamptz,
    PRIMARY KEY (job_id, row_no)
);
-- Room on each page, so that recording a row's outcome is a HOT update
-- (no new index entry).
ALTER TABLE bulk_rows SET (fillfactor = 50);

-- Outgoing mail, written with the change it tells about and kept until
-- delivered. One issued or renewed mail per credential at most.
CREATE TABLE mails (
    id              text PRIMARY KEY,
    org_id          text NOT NULL,
    credential_id   text NOT NULL DEFAULT '',
    kind            text NOT NULL,
    to_addr         text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz
);
CREATE UNIQUE INDEX mails_credential_once_idx ON mails (credential_id, kind)
    WHERE kind IN ('credential.issued', 'credential.renewed');
CREATE INDEX mails_credential_idx ON mails (credential_id, created_at);
CREATE INDEX mails_due_idx ON mails (next_attempt_at) WHERE status IN ('queued', 'sending');

-- What happened, for webhooks to deliver.
CREATE TABLE events (
    id         text PRIMARY KEY,
    org_id     text NOT NULL,
    type       text NOT NULL,
    subject_id text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX events_org_created_idx ON events (org_id, created_at, id);
