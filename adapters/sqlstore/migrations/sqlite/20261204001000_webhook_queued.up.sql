-- Webhook deliveries (issue 13): a pending delivery is "pending" while it
-- waits for its next attempt, "queued" once relayed to the queue, and
-- "sending" while an attempt holds it. Only queued ones (and sending ones
-- whose lease ended) are claimed, so a duplicate or stale task never
-- attempts a retry before it is due. The due index covers all three.
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'queued', 'sending');

-- Recorded events are pruned with the activity retention, oldest first.
CREATE INDEX events_created_idx ON events (created_at, id);
