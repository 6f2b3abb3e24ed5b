-- API keys can be regenerated (a new secret under the same ID, the
-- lifetime starting again) and are revoked either by an owner ('') or by a
-- plan change that left more active keys than the plan allows
-- ('plan_limit').
ALTER TABLE api_keys ADD COLUMN regenerated_at TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN revoked_for text NOT NULL DEFAULT '';
