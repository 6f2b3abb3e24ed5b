-- Responses kept for Idempotency-Key replays are sealed from now on
-- (AES-256-GCM under a key derived from the master key, bound to their
-- scope, key and request): the rows written before held their bodies in
-- the clear, session tokens and API key secrets included. Delete them all.
-- A retry of a request made before the upgrade runs afresh (the usual
-- duplicate rules still apply); unfinished claims go too, their requests
-- having ended with the old process.
DELETE FROM idempotency_keys;
