-- Invitations to join an organization with a role, answered by the
-- holder of the email within 7 days.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    invited_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    status      TEXT NOT NULL,
    answered_at TIMESTAMP
);
CREATE INDEX invitations_org_idx ON invitations (org_id, status);
CREATE INDEX invitations_email_idx ON invitations (email, status);
