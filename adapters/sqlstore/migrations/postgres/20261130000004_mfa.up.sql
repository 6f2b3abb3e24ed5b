-- Email one-time-code MFA: per user, or required by an organization of
-- every member; sign-ins waiting for their code.
ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE organizations ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;

CREATE TABLE mfa_challenges (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id),
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    used_at    timestamptz
);
CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
