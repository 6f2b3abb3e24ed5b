-- Webhooks (issue 13): when an endpoint last answered 2xx (the end of
-- that attempt). A failure seen before it, recorded late, begins no run
-- of failures.
ALTER TABLE webhooks ADD COLUMN last_ok_at timestamptz;
