-- The chain-head index leads with the recipient's email, as on PostgreSQL
-- (where a planner without fresh statistics otherwise read every head of
-- the badge for each bulk chunk). SQLite probes the index per IN value
-- either way; the schemas stay alike.
DROP INDEX credentials_chain_head_idx;
CREATE UNIQUE INDEX credentials_chain_head_idx ON credentials (recipient_email, badge_id)
    WHERE superseded_by_id IS NULL;
