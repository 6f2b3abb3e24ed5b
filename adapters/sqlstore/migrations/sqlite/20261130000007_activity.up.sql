-- The activity log: who changed what, from where and when, written in the
-- transaction of the change. org_id is '' for account events outside any
-- organization.
CREATE TABLE activity (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    actor_user  TEXT NOT NULL,
    actor_key   TEXT NOT NULL,
    actor_email TEXT NOT NULL,
    ip          TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX activity_org_created_idx ON activity (org_id, created_at, id);
CREATE INDEX activity_created_idx ON activity (created_at, id);
