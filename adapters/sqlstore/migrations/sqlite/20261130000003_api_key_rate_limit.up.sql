-- A platform admin may give one API key its own request rate (per
-- minute); 0 keeps the default (CREDENCE_RATE_LIMIT_KEY).
ALTER TABLE api_keys ADD COLUMN rate_limit integer NOT NULL DEFAULT 0;
