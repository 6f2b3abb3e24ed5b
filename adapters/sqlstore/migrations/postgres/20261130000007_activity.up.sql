-- The activity log: who changed what, from where and when, written in the
-- transaction of the change. org_id is '' for account events outside any
-- organization.
CREATE TABLE activity (
    id          text PRIMARY KEY,
    org_id      text NOT NULL,
    actor_user  text NOT NULL,
    actor_key   text NOT NULL,
    actor_email text NOT NULL,
    ip          text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target      text NOT NULL,
    detail      text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX activity_org_created_idx ON activity (org_id, created_at, id);
CREATE INDEX activity_created_idx ON activity (created_at, id);
