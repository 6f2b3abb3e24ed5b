-- Credentials issued through the VC-API (POST /credentials/issue): VCDM
-- 2.0 documents their callers wrote, signed as given with Credence's
-- additions. Not badge credentials: they take places in the same status
-- lists, and are found by the digest of what was signed.
CREATE TABLE vc_records (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    vc_id             TEXT NOT NULL,
    digest            TEXT NOT NULL,
    issued_at         TIMESTAMP NOT NULL,
    valid_from        TIMESTAMP,
    valid_until       TIMESTAMP,
    test              BOOLEAN NOT NULL,
    status_list_id    TEXT NOT NULL,
    status_index      INTEGER NOT NULL,
    revoked_at        TIMESTAMP,
    revocation_reason TEXT NOT NULL DEFAULT '',
    suspended_at      TIMESTAMP,
    suspension_reason TEXT NOT NULL DEFAULT '',
    key_id            TEXT NOT NULL,
    jws               TEXT NOT NULL,
    -- the embedded Data Integrity proof (JSON), '' without one
    proof             TEXT NOT NULL DEFAULT '',
    created_by        TEXT NOT NULL
);
CREATE UNIQUE INDEX vc_records_digest_idx ON vc_records (digest);
CREATE INDEX vc_records_vc_id_idx ON vc_records (org_id, vc_id, issued_at);
CREATE UNIQUE INDEX vc_records_status_slot_idx ON vc_records (status_list_id, status_index);
CREATE INDEX vc_records_status_set_idx ON vc_records (status_list_id)
    WHERE revoked_at IS NOT NULL OR suspended_at IS NOT NULL;
