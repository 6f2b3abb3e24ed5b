-- Credentials issued through the VC-API (POST /credentials/issue): VCDM
-- 2.0 documents their callers wrote, signed as given with Credence's
-- additions. Not badge credentials: they take places in the same status
-- lists, and are found by the digest of what was signed.
CREATE TABLE vc_records (
    id                text PRIMARY KEY,
    org_id            text NOT NULL REFERENCES organizations (id),
    vc_id             text NOT NULL,
    digest            text NOT NULL,
    issued_at         timestamptz NOT NULL,
    valid_from        timestamptz,
    valid_until       timestamptz,
    test              boolean NOT NULL,
    status_list_id    text NOT NULL,
    status_index      integer NOT NULL,
    revoked_at        timestamptz,
    revocation_reason text NOT NULL DEFAULT '',
    suspended_at      timestamptz,
    suspension_reason text NOT NULL DEFAULT '',
    key_id            text NOT NULL,
    jws               text NOT NULL,
    -- the embedded Data Integrity proof (JSON), '' without one
    proof             text NOT NULL DEFAULT '',
    created_by        text NOT NULL
);
CREATE UNIQUE INDEX vc_records_digest_idx ON vc_records (digest);
CREATE INDEX vc_records_vc_id_idx ON vc_records (org_id, vc_id, issued_at);
CREATE UNIQUE INDEX vc_records_status_slot_idx ON vc_records (status_list_id, status_index);
CREATE INDEX vc_records_status_set_idx ON vc_records (status_list_id)
    WHERE revoked_at IS NOT NULL OR suspended_at IS NOT NULL;
