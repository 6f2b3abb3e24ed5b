-- Credence schema, first version (PostgreSQL).
-- Times are timestamptz (microseconds, as the core truncates them).

CREATE TABLE users (
    id                text PRIMARY KEY,
    email             text NOT NULL,
    name              text NOT NULL,
    password_hash     text NOT NULL,
    email_verified_at timestamptz,
    created_at        timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id),
    token_hash bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE email_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id),
    purpose    text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_user_id_idx ON email_tokens (user_id);

CREATE TABLE organizations (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    slug           text NOT NULL,
    website_url    text NOT NULL DEFAULT '',
    description    text NOT NULL DEFAULT '',
    status         text NOT NULL,
    status_reason  text NOT NULL DEFAULT '',
    plan           text NOT NULL,
    emails_enabled boolean NOT NULL,
    verifications  bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT organizations_slug_key UNIQUE (slug)
);
CREATE INDEX organizations_created_idx ON organizations (created_at, id);
CREATE INDEX organizations_status_created_idx ON organizations (status, created_at, id);

CREATE TABLE memberships (
    org_id     text NOT NULL REFERENCES organizations (id),
    user_id    text NOT NULL REFERENCES users (id),
    role       text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE signing_keys (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    fragment    text NOT NULL,
    algorithm   text NOT NULL,
    status      text NOT NULL,
    public_jwk  bytea NOT NULL,
    private_enc bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    CONSTRAINT signing_keys_org_fragment_key UNIQUE (org_id, fragment)
);
-- At most one active key per organization.
CREATE UNIQUE INDEX signing_keys_one_active_idx ON signing_keys (org_id) WHERE status = 'active';

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organizations (id),
    name         text NOT NULL,
    mode         text NOT NULL,
    prefix       text NOT NULL,
    last4        text NOT NULL,
    secret_hash  bytea NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash)
);
CREATE INDEX api_keys_org_created_idx ON api_keys (org_id, created_at);

CREATE TABLE badges (
    id              text PRIMARY KEY,
    org_id          text NOT NULL REFERENCES organizations (id),
    name            text NOT NULL,
    slug            text NOT NULL,
    description     text NOT NULL,
    criteria        text NOT NULL,
    image_url       text NOT NULL,
    tags            jsonb NOT NULL,
    expires_in_days integer,
    active          boolean NOT NULL,
    locked          boolean NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT badges_org_slug_key UNIQUE (org_id, slug)
);
CREATE INDEX badges_org_created_idx ON badges (org_id, created_at, id);

-- Credentials and quota rows reference organizations and badges without
-- foreign keys: every issue would otherwise share-lock the same organization
-- and badge rows, which PostgreSQL turns into multixacts under concurrent
-- issuers. Neither is ever deleted while it has credentials (a used badge
-- is deactivated, not deleted).
CREATE TABLE credentials (
    id                text PRIMARY KEY,
    org_id            text NOT NULL,
    badge_id          text NOT NULL,
    recipient_name    text NOT NULL,
    recipient_email   text NOT NULL,
    issued_at         timestamptz NOT NULL,
    expires_at        timestamptz,
    public            boolean NOT NULL,
    test              boolean NOT NULL,
    claimed_at        timestamptz,
    revoked_at        timestamptz,
    revocation_reason text NOT NULL DEFAULT '',
    supersedes_id     text,
    superseded_by_id  text,
    key_id            text NOT NULL,
    jws               text NOT NULL,
    created_by        text NOT NULL
);
-- Rows of about 2.5 KB (the signed JWS) stay inline and uncompressed.
ALTER TABLE credentials SET (toast_tuple_target = 8160);
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
    org_id text NOT NULL,
    month  text NOT NULL,
    shard  integer NOT NULL CHECK (shard >= 0),
    used   integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (org_id, month, shard)
);

CREATE TABLE quota_recipients (
    org_id text NOT NULL,
    month  text NOT NULL,
    email  text NOT NULL,
    PRIMARY KEY (org_id, month, email)
);
