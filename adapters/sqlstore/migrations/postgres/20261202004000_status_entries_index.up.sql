-- Publishing a status list reads its revoked and suspended places: a
-- partial index finds them without going through every credential of the
-- list (up to 131,072).
CREATE INDEX credentials_status_set_idx ON credentials (status_list_id)
    WHERE revoked_at IS NOT NULL OR suspended_at IS NOT NULL;
