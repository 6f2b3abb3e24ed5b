-- Housekeeping deletes what ended a while ago (ports.Retention): sessions,
-- emailed tokens, MFA challenges and sign-in guards, in batches picked
-- along these indexes rather than by scanning the tables. Each way a row
-- ends has its own index; the used and revoked ones hold only the rows
-- that are. activity is pruned along activity_created_idx.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at);
CREATE INDEX email_tokens_used_idx ON email_tokens (used_at) WHERE used_at IS NOT NULL;
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_used_idx ON mfa_challenges (used_at) WHERE used_at IS NOT NULL;
CREATE INDEX login_guards_window_idx ON login_guards (window_start);
