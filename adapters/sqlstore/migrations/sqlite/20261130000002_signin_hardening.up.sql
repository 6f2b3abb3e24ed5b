-- Sessions end after a day unused as well as a week after sign-in, and
-- their owner sees where they were opened.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- Failed sign-ins per email (registered or not), for lock-out.
CREATE TABLE login_guards (
    email        TEXT PRIMARY KEY,
    failures     integer NOT NULL,
    window_start TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    lockouts     integer NOT NULL
);
