-- Email one-time-code MFA: per user, or required by an organization of
-- every member; sign-ins waiting for their code.
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE organizations ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE mfa_challenges (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    code_hash  BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    used_at    TIMESTAMP
);
CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
