-- Invitations to join an organization with a role, answered by the
-- holder of the email within 7 days.
CREATE TABLE invitations (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    email       text NOT NULL,
    role        text NOT NULL,
    invited_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    status      text NOT NULL,
    answered_at timestamptz
);
CREATE INDEX invitations_org_idx ON invitations (org_id, status);
CREATE INDEX invitations_email_idx ON invitations (email, status);
