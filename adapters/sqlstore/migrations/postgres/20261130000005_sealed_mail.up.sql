-- Account mail goes through the outbox too. Its bodies carry sign-in
-- links and codes, so they are stored encrypted under the master key
-- (sealed) until sent.
ALTER TABLE mails ADD COLUMN sealed boolean NOT NULL DEFAULT false;
