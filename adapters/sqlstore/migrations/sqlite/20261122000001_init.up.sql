-- Credence schema, first version (SQLite).
-- Times are TEXT in bun's fixed UTC format ("2006-01-02 15:04:05.999999+00:00"),
-- which sorts like the instants it names.

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    email_verified_at TIMESTAMP,
    created_at        TIMESTAMP NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    token_hash BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE email_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    purpose    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX email_tokens_user_id_idx ON email_tokens (user_id);

CREATE TABLE organizations (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    slug           TEXT NOT NULL,
    website_url    TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL,
    status_reason  TEXT NOT NULL DEFAULT '',
    plan           TEXT NOT NULL,
    emails_enabled BOOLEAN NOT NULL,
    verifications  INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);
CREATE INDEX organizations_created_idx ON organizations (created_at, id);
CREATE INDEX organizations_status_created_idx ON organizations (status, created_at, id);

CREATE TABLE memberships (
    org_id     TEXT NOT NULL REFERENCES organizations (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    role       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    fragment    TEXT NOT NULL,
    algorithm   TEXT NOT NULL,
    status      TEXT NOT NULL,
    public_jwk  BLOB NOT NULL,
    private_enc BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    retired_at  TIMESTAMP,
    CONSTRAINT signing_keys_org_fragment_key UNIQUE (org_id, fragment)
);
-- At most one active key per organization.
CREATE UNIQUE INDEX signing_keys_one_active_idx ON signing_keys (org_id) WHERE status = 'active';

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    name         TEXT NOT NULL,
    mode         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    last4        TEXT NOT NULL,
    secret_hash  BLOB NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
);
CREATE INDEX api_keys_org_created_idx ON api_keys (org_id, created_at);

CREATE TABLE badges (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL,
    description     TEXT NOT NULL,
    criteria        TEXT NOT NULL,
    image_url       TEXT NOT NULL,
    tags            TEXT NOT NULL,
    expires_in_days INTEGER,
    active          BOOLEAN NOT NULL,
    locked          BOOLEAN NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    CONSTRAINT badges_org_slug_key UNIQUE (org_id, slug)
);
CREATE INDEX badges_org_created_idx ON badges (org_id, created_at, id);

-- Credentials and quota rows reference organizations and badges without
-- foreign keys: every issue would otherwise share-lock the same organization
-- and badge rows, which PostgreSQL turns into multixacts under concurrent
-- issuers. Neither is ever deleted while it has credentials (a used badge
-- is deactivated, not deleted).
CREATE TABLE credentials (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL,
    badge_id          TEXT NOT NULL,
    recipient_name    TEXT NOT NULL,
    recipient_email   TEXT NOT NULL,
    issued_at         TIMESTAMP NOT NULL,
    expires_at        TIMESTAMP,
    public            BOOLEAN NOT NULL,
    test              BOOLEAN NOT NULL,
    claimed_at        TIMESTAMP,
    revoked_at        TIMESTAMP,
    revocation_reason TEXT NOT NULL DEFAULT '',
    supersedes_id     TEXT,
    superseded_by_id  TEXT,
    key_id            TEXT NOT NULL,
    jws               TEXT NOT NULL,
    created_by        TEXT NOT NULL
);
-- A recipient's credentials of a badge form one chain: at most one of them,
-- the head, is superseded by none (revoked or not). Issuing again supersedes
-- the head; of concurrent issuers exactly one wins.
CREATE UNIQUE INDEX credentials_chain_head_idx ON credentials (badge_id, recipient_email)
    WHERE superseded_by_id IS NULL;
CREATE INDEX credentials_org_issued_idx ON credentials (org_id, issued_at, id);
CREATE INDEX credentials_email_issued_idx ON credentials (recipient_email, issued_at, id);

-- The month's count is spread over shards (16) so concurrent issuers do
-- not queue on one row; each shard has its share of the limit, and the sum
-- of the shares is the limit.
CREATE TABLE quota_usage (
    org_id TEXT NOT NULL,
    month  TEXT NOT NULL,
    shard  INTEGER NOT NULL CHECK (shard >= 0),
    used   INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (org_id, month, shard)
);

CREATE TABLE quota_recipients (
    org_id TEXT NOT NULL,
    month  TEXT NOT NULL,
    email  TEXT NOT NULL,
    PRIMARY KEY (org_id, month, email)
);
