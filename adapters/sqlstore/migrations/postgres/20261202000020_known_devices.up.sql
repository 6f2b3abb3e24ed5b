-- Known devices: a client that completed a sign-in keeps a device token
-- (stored only as its SHA-256), which lets its user's later sign-ins past
-- the email's lock-out; its own failures revoke it. Housekeeping deletes
-- the revoked and expired ones along the two indexes.
CREATE TABLE devices (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id),
    token_hash   bytea NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    failures     integer NOT NULL DEFAULT 0,
    revoked_at   timestamptz,
    CONSTRAINT devices_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX devices_user_id_idx ON devices (user_id);
CREATE INDEX devices_expires_idx ON devices (expires_at);
CREATE INDEX devices_revoked_idx ON devices (revoked_at) WHERE revoked_at IS NOT NULL;

-- What a code is for (signing in, or switching codes off), and the known
-- device a sign-in came through. No foreign key: a challenge outlives a
-- device pruned before it, and a device that is gone reads as none.
ALTER TABLE mfa_challenges ADD COLUMN purpose text NOT NULL DEFAULT 'sign_in';
ALTER TABLE mfa_challenges ADD COLUMN device_id text;

-- Whether the sign-in that opened a session took an emailed code: an
-- organization requiring codes refuses the sessions that did not. Sessions
-- opened before are taken as without one.
ALTER TABLE sessions ADD COLUMN mfa boolean NOT NULL DEFAULT false;
