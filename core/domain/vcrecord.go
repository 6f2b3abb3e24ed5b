package domain

import "time"

// VCRecord is a VCDM 2.0 credential an organization issued through the
// VC-API (POST /credentials/issue): a document its caller wrote, signed
// as given with Credence's additions (issuer, credentialStatus, the JWT
// claims). It is not a badge credential: no badge, no recipient to claim
// it. It is recorded so that it is verified against its record and can be
// revoked and suspended through its status list place like any credential.
type VCRecord struct {
	ID    CredentialID // Credence's own ID (activity, logs)
	OrgID string
	// VCID is the credential's id member as signed: the caller's, or
	// urn:uuid:… when it gave none. Callers may reuse one; it names every
	// record signed with it.
	VCID string
	// Digest is the hex SHA-256 of the signed payload: a presented JWS is
	// matched with its record by it.
	Digest     string
	IssuedAt   time.Time
	ValidFrom  *time.Time
	ValidUntil *time.Time
	Test       bool
	Slot       StatusSlot
	// Revocation and suspension, as on Credential.
	RevokedAt        *time.Time
	RevocationReason string
	SuspendedAt      *time.Time
	SuspensionReason string
	KeyID            string // the JWS header kid
	JWS              string
	// Proof is the embedded Data Integrity proof (JSON) of the signed
	// payload, when the caller asked for one; "" otherwise.
	Proof     string
	CreatedBy string // the API key's ID
}

// Status is the record's status at now, as a credential's: revoked wins
// over suspended, suspended over expired. A record has no recipient to
// claim it: otherwise it is valid.
func (r VCRecord) Status(now time.Time) CredentialStatus {
	switch {
	case r.RevokedAt != nil:
		return StatusRevoked
	case r.SuspendedAt != nil:
		return StatusSuspended
	case r.ValidUntil != nil && !now.Before(*r.ValidUntil):
		return StatusExpired
	}
	return StatusValid
}

// Credential is the record seen as a credential, for the rules the two
// share (revoke, suspend, unsuspend; the revocation check): no badge, no
// recipient, and claimed when issued, since no one is there to claim it.
func (r VCRecord) Credential() Credential {
	slot := r.Slot
	issued := r.IssuedAt
	return Credential{ID: r.ID, OrgID: r.OrgID, IssuedAt: r.IssuedAt, ExpiresAt: r.ValidUntil, Test: r.Test, ClaimedAt: &issued,
		RevokedAt: r.RevokedAt, RevocationReason: r.RevocationReason, SuspendedAt: r.SuspendedAt, SuspensionReason: r.SuspensionReason,
		Slot: &slot, KeyID: r.KeyID, JWS: r.JWS, CreatedBy: r.CreatedBy}
}

// Change applies change (Credential's Revoke, Suspend or Unsuspend) to
// the record's status.
func (r *VCRecord) Change(change func(c *Credential) error) error {
	c := r.Credential()
	if err := change(&c); err != nil {
		return err
	}
	r.RevokedAt, r.RevocationReason, r.SuspendedAt, r.SuspensionReason = c.RevokedAt, c.RevocationReason, c.SuspendedAt, c.SuspensionReason
	return nil
}
