package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// Verification is the answer to "is this credential genuine and current".
type Verification struct {
	Result     domain.VerifyResult
	Checks     []domain.Check
	Credential *domain.Credential // nil when the presented file names no credential of ours
	Badge      domain.Badge
	Org        domain.Organization
	Document   *Document // the signed document, when the signature could be read
}

// View is a credential with what is needed to show it publicly.
type View struct {
	Credential domain.Credential
	Badge      domain.Badge
	Org        domain.Organization
}

// View returns a credential for its public page. Private credentials are
// shown only to their recipient and to members of the issuing organization.
func (s *Service) View(ctx context.Context, actor domain.Actor, id domain.CredentialID) (View, error) {
	if _, err := domain.ParseCredentialID(string(id)); err != nil {
		return View{}, err
	}
	c, err := s.store.Credentials().Get(ctx, id)
	if err != nil {
		return View{}, err
	}
	if !c.Public {
		switch ok, err := s.maySeePrivate(ctx, actor, c); {
		case err != nil:
			return View{}, err
		case !ok:
			return View{}, domain.ErrCredentialPrivate
		}
	}
	org, err := s.store.Orgs().Get(ctx, c.OrgID)
	if err != nil {
		return View{}, err
	}
	badge, err := s.store.Badges().Get(ctx, c.OrgID, c.BadgeID)
	if err != nil {
		return View{}, err
	}
	return View{Credential: c, Badge: badge, Org: org}, nil
}

// maySeePrivate reports whether actor may see a private credential. A
// database that cannot be reached is an error, not a refusal.
func (s *Service) maySeePrivate(ctx context.Context, actor domain.Actor, c domain.Credential) (bool, error) {
	if actor.UserEmail != "" && actor.UserEmail == c.RecipientEmail {
		return true, nil
	}
	_, err := s.guard.Org(ctx, actor, c.OrgID, domain.PermCredentialsRead)
	if errors.Is(err, ports.ErrUnavailable) {
		return false, err
	}
	return err == nil, nil
}

// Verify checks a stored credential: signature, integrity, expiry,
// revocation and issuer. Each verification is counted for the issuer.
func (s *Service) Verify(ctx context.Context, actor domain.Actor, id domain.CredentialID) (Verification, error) {
	v, err := s.View(ctx, actor, id)
	if err != nil {
		return Verification{}, err
	}
	return s.check(ctx, []byte(v.Credential.JWS), nil, v.Org, v.Badge, &v.Credential)
}

// VerifyPresented checks a presented compact JWS, or the one baked into a
// presented PNG, with only the published keys, then the current state of
// the credential it names.
func (s *Service) VerifyPresented(ctx context.Context, compact []byte) (Verification, error) {
	compact, err := presentedJWS(compact)
	if err != nil {
		return Verification{}, err
	}
	tok, err := signing.ParseToken(compact)
	if err != nil {
		return Verification{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.credential", Message: "credential must be a compact JWS (header.payload.signature) of at most 64 KiB"}}}
	}
	fail := func(detail string) Verification {
		checks := []domain.Check{{Name: domain.CheckSignature, OK: false, Detail: detail}}
		return Verification{Result: domain.Verdict(checks, false), Checks: checks}
	}
	did, _, ok := signing.SplitKeyID(tok.Header.KID)
	slug, found := strings.CutPrefix(did, s.urls.DID(""))
	if !ok || !found || !domain.ValidSlug(slug) {
		return fail(fmt.Sprintf("the key %q is not an issuer key published here", tok.Header.KID)), nil
	}
	org, err := s.store.Orgs().GetBySlug(ctx, slug)
	if errors.Is(err, domain.ErrNotFound) {
		return fail(fmt.Sprintf("no issuer %q is published here", slug)), nil
	}
	if err != nil {
		return Verification{}, err
	}
	var stored *domain.Credential
	var badge domain.Badge
	if doc, err := ParseDocument(tok.Payload); err == nil {
		idStr, _ := strings.CutPrefix(doc.ID, s.urls.Credential(""))
		if id, err := domain.ParseCredentialID(idStr); err == nil {
			c, err := s.store.Credentials().Get(ctx, id)
			switch {
			case err == nil && c.OrgID == org.ID:
				stored = &c
				if badge, err = s.store.Badges().Get(ctx, org.ID, c.BadgeID); err != nil {
					return Verification{}, err
				}
			case err != nil && !errors.Is(err, domain.ErrNotFound):
				return Verification{}, err // no record is a verdict; no answer is not
			}
		}
	}
	return s.check(ctx, compact, &tok, org, badge, stored)
}

// check runs the five checks of compact against the stored record (nil
// when the document names no credential of this issuer). tok is compact
// read, or nil to read it here. An error means no verdict: a key that
// could not be read is not a bad signature.
func (s *Service) check(ctx context.Context, compact []byte, tok *signing.Token, org domain.Organization, badge domain.Badge, stored *domain.Credential) (Verification, error) {
	now := s.clock.Now()
	out := Verification{Credential: stored, Badge: badge, Org: org}
	if tok == nil {
		if t, err := signing.ParseToken(compact); err == nil {
			tok = &t
		}
	}
	payload, sigCheck, err := s.checkSignature(ctx, tok, org)
	if err != nil {
		return Verification{}, err
	}
	checks := []domain.Check{sigCheck}

	integrity := domain.Check{Name: domain.CheckIntegrity, OK: true, Detail: "the signed document matches the issuer's record"}
	var doc Document
	switch {
	case payload == nil:
		integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "not checked: the signature is not valid"}
	case stored == nil:
		integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the issuer has no record of this credential"}
	default:
		var err error
		if doc, err = ParseDocument(payload); err != nil {
			integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the signed payload is not a credential document"}
		} else if bad := s.urls.Mismatches(doc, *stored, org, badge); len(bad) > 0 {
			integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the record differs from the signed document in: " + strings.Join(bad, ", ")}
		} else if string(compact) != stored.JWS {
			integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the presented file differs from the one the issuer stored"}
		}
		out.Document = &doc
	}
	checks = append(checks, integrity)

	claimed := false
	if stored != nil {
		claimed = stored.ClaimedAt != nil
		checks = append(checks, ExpiryCheck(stored.ExpiresAt, now), revocationCheck(*stored))
	} else {
		checks = append(checks,
			domain.Check{Name: domain.CheckExpiry, Detail: "unknown: the issuer has no record of this credential"},
			domain.Check{Name: domain.CheckRevocation, Detail: "unknown: the issuer has no record of this credential"})
	}
	checks = append(checks, issuerCheck(org))
	out.Checks = checks
	out.Result = domain.Verdict(checks, claimed)
	if err := s.store.Orgs().CountVerification(ctx, org.ID); err != nil {
		s.log.WarnContext(ctx, "count verification", "org", org.ID, "err", err)
	}
	return out, nil
}

// checkSignature finds the org's key named by tok's kid in the store and
// checks the signature with it (tok nil: the credential could not be read).
func (s *Service) checkSignature(ctx context.Context, tok *signing.Token, org domain.Organization) ([]byte, domain.Check, error) {
	fail := func(detail string) ([]byte, domain.Check, error) {
		return nil, domain.Check{Name: domain.CheckSignature, Detail: detail}, nil
	}
	if tok == nil {
		return fail("the credential is not a readable compact JWS")
	}
	kid := tok.Header.KID
	did, fragment, ok := signing.SplitKeyID(kid)
	if !ok || did != s.urls.DID(org.Slug) || !domain.ControlFree(fragment, false) {
		return fail(fmt.Sprintf("the key %q is not one of %s's keys", kid, org.Name))
	}
	key, err := s.store.SigningKeys().GetByFragment(ctx, org.ID, fragment)
	if errors.Is(err, domain.ErrNotFound) {
		return fail(fmt.Sprintf("the key %q is not published by %s", kid, org.Name))
	}
	if err != nil {
		return nil, domain.Check{}, err
	}
	// The store says which key the kid names; the parsed form is cached
	// by its bytes.
	pub, err := signing.ParsePublicKey(key.PublicJWK, key.Algorithm)
	if err != nil {
		return fail(fmt.Sprintf("the signature does not verify with %s", kid))
	}
	payload, check := SignatureCheck(*tok, IssuerKey{KID: kid, Key: pub, Status: key.Status})
	return payload, check, nil
}

// IssuerKey is the public key a token's kid names, as its issuer publishes
// it: found in the store when Credence verifies, in the issuer's JWKS or
// did.json when core/verifier does.
type IssuerKey struct {
	KID    string
	Key    *signing.PublicKey
	Status domain.KeyStatus // active or retired; empty when the publication does not say
}

// SignatureCheck verifies tok with key and reports the signature check,
// with the signed payload when it passes. The online and the offline
// verification both check signatures here.
func SignatureCheck(tok signing.Token, key IssuerKey) ([]byte, domain.Check) {
	payload, err := key.Key.Verify(tok)
	if err != nil {
		return nil, domain.Check{Name: domain.CheckSignature, Detail: fmt.Sprintf("the signature does not verify with %s", key.KID)}
	}
	detail := fmt.Sprintf("signed by %s (%s key published by the issuer)", key.KID, key.Key.Algorithm())
	switch key.Status {
	case domain.KeyActive:
		detail = fmt.Sprintf("signed by %s (%s, active key)", key.KID, key.Key.Algorithm())
	case domain.KeyRetired:
		detail = fmt.Sprintf("signed by %s (%s, retired key)", key.KID, key.Key.Algorithm())
	}
	return payload, domain.Check{Name: domain.CheckSignature, OK: true, Detail: detail}
}

// ExpiryCheck is the expiry check at now of a credential valid until
// expires (nil: it never expires): the stored expiry online, the signed
// validUntil offline.
func ExpiryCheck(expires *time.Time, now time.Time) domain.Check {
	switch {
	case expires == nil:
		return domain.Check{Name: domain.CheckExpiry, OK: true, Detail: "never expires"}
	case now.Before(*expires):
		return domain.Check{Name: domain.CheckExpiry, OK: true, Detail: "valid until " + expires.Format(time.RFC3339)}
	default:
		return domain.Check{Name: domain.CheckExpiry, Detail: "expired on " + expires.Format(time.RFC3339)}
	}
}

func revocationCheck(c domain.Credential) domain.Check {
	if c.RevokedAt == nil {
		return domain.Check{Name: domain.CheckRevocation, OK: true, Detail: "not revoked"}
	}
	return domain.Check{Name: domain.CheckRevocation, Detail: fmt.Sprintf("revoked on %s: %s", c.RevokedAt.Format(time.RFC3339), c.RevocationReason)}
}

// issuerCheck passes for approved issuers and for suspended ones, whose
// earlier credentials stay verifiable; the detail says which.
func issuerCheck(org domain.Organization) domain.Check {
	switch org.Status {
	case domain.OrgApproved:
		return domain.Check{Name: domain.CheckIssuer, OK: true, Detail: org.Name + " is an approved issuer; domain not verified"}
	case domain.OrgSuspended:
		return domain.Check{Name: domain.CheckIssuer, OK: true, Detail: org.Name + " is suspended and issues no new credentials; earlier ones stay valid; domain not verified"}
	default:
		return domain.Check{Name: domain.CheckIssuer, Detail: fmt.Sprintf("%s is %s, not an approved issuer", org.Name, org.Status)}
	}
}
