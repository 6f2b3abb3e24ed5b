-- Sessions end after a day unused as well as a week after sign-in, and
-- their owner sees where they were opened.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz;
ALTER TABLE sessions ADD COLUMN ip text NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent text NOT NULL DEFAULT '';

-- Failed sign-ins per email (registered or not), for lock-out.
CREATE TABLE login_guards (
    email        text PRIMARY KEY,
    failures     integer NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz,
    lockouts     integer NOT NULL
);
