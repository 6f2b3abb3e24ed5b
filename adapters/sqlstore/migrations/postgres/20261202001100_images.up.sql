-- Uploaded badge images and organization logos, re-encoded, named by the
-- SHA-256 of their bytes: every replica serves them from here, and a
-- name never stands for other bytes.
CREATE TABLE images (
    hash         text PRIMARY KEY,
    content_type text NOT NULL,
    data         bytea NOT NULL,
    width        integer NOT NULL,
    height       integer NOT NULL,
    created_at   timestamptz NOT NULL
);

-- The hosted URL of an organization's uploaded logo ('' without one).
ALTER TABLE organizations ADD COLUMN logo_url text NOT NULL DEFAULT '';
