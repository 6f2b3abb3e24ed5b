-- Data Integrity proofs (issue 12): an organization may secure its
-- credentials with an embedded eddsa-rdfc-2022 proof too, signed with an
-- Ed25519 key of its own, published in its DID document as a Multikey.
ALTER TABLE organizations ADD COLUMN data_integrity boolean NOT NULL DEFAULT false;

CREATE TABLE proof_keys (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    fragment    text NOT NULL,
    public_key  bytea NOT NULL,
    private_enc bytea NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    UNIQUE (org_id, fragment)
);
CREATE UNIQUE INDEX proof_keys_one_active_idx ON proof_keys (org_id) WHERE status = 'active';

-- The credential's embedded proof (its JSON; '' without one), made when
-- it was issued, and the status list documents' proofs.
ALTER TABLE credentials ADD COLUMN proof text NOT NULL DEFAULT '';
ALTER TABLE status_lists ADD COLUMN revocation_proof text NOT NULL DEFAULT '';
ALTER TABLE status_lists ADD COLUMN suspension_proof text NOT NULL DEFAULT '';
