-- Mail that must not tell by its cost whether an address has an account
-- (password reset, verification, the lock-out notice) is written by the
-- request as a deferred row: the body holds what the request recorded
-- (sealed), and the delivery composes the mail from it, or drops it, in
-- the worker. A dropped mail ends with status 'dropped' and no address.
ALTER TABLE mails ADD COLUMN deferred boolean NOT NULL DEFAULT false;
