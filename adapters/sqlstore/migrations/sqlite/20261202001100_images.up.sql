-- Uploaded badge images and organization logos, re-encoded, named by the
-- SHA-256 of their bytes: every replica serves them from here, and a
-- name never stands for other bytes.
CREATE TABLE images (
    hash         TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL,
    width        integer NOT NULL,
    height       integer NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

-- The hosted URL of an organization's uploaded logo ('' without one).
ALTER TABLE organizations ADD COLUMN logo_url TEXT NOT NULL DEFAULT '';
