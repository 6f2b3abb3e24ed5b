-- Test and live credentials form separate chains: a credential issued with
-- a test API key never renews, supersedes or blocks a live one, nor the
-- other way round. A chain's head is unique per recipient, badge and mode.
-- Heads written before are unique per recipient and badge, so unique per
-- mode too. Where a test credential already superseded a live one, the
-- live chain has no head now: the recipient's next live credential starts
-- a new chain.
DROP INDEX credentials_chain_head_idx;
CREATE UNIQUE INDEX credentials_chain_head_idx ON credentials (recipient_email, badge_id, test)
    WHERE superseded_by_id IS NULL;
