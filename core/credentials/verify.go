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
	// Record is the VC-API credential verified, when it is one (then
	// Credential is nil: it is no badge credential).
	Record   *domain.VCRecord
	Badge    domain.Badge
	Org      domain.Organization
	Document *Document // the signed document, when the signature could be read
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
	v, err := s.view(ctx, actor, id)
	if err != nil {
		return View{}, err
	}
	return View{Credential: v.Credential, Badge: v.Badge, Org: v.Org}, nil
}

// view reads the credential with its organization, badge and the
// organization's active key in one query, as they are now (nothing of it
// is cached: status, revocation, expiry and the issuer's standing may
// change at any instant), and applies the privacy rule.
func (s *Service) view(ctx context.Context, actor domain.Actor, id domain.CredentialID) (ports.Verifiable, error) {
	if _, err := domain.ParseCredentialID(string(id)); err != nil {
		return ports.Verifiable{}, err
	}
	v, err := s.store.Credentials().Verifiable(ctx, id)
	if err != nil {
		return ports.Verifiable{}, err
	}
	if !v.Credential.Public {
		switch ok, err := s.maySeePrivate(ctx, actor, v.Credential); {
		case err != nil:
			return ports.Verifiable{}, err
		case !ok:
			return ports.Verifiable{}, domain.ErrCredentialPrivate
		}
	}
	return v, nil
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
// revocation and issuer. It reads the store once: the credential, its
// organization and badge as they are now. The signature check of the
// stored bytes, which never change, is kept (see verifyCaches); whatever
// may change is read on every verification. Each verification is counted
// for the issuer, in memory (see work.Tally).
func (s *Service) Verify(ctx context.Context, actor domain.Actor, id domain.CredentialID) (Verification, error) {
	v, err := s.view(ctx, actor, id)
	if err != nil {
		return Verification{}, err
	}
	return s.check(ctx, v.Credential.JWS, nil, v.Org, v.Badge, &v.Credential, &v.ActiveKey, v.StatusListVersion)
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
	var active *string
	var listVersion int64
	if doc, err := ParseDocument(tok.Payload); err == nil {
		idStr, _ := strings.CutPrefix(doc.ID, s.urls.Credential(""))
		if id, err := domain.ParseCredentialID(idStr); err == nil {
			v, err := s.store.Credentials().Verifiable(ctx, id)
			switch {
			case err == nil && v.Credential.OrgID == org.ID:
				stored, badge, org, active, listVersion = &v.Credential, v.Badge, v.Org, &v.ActiveKey, v.StatusListVersion
			case err != nil && !errors.Is(err, domain.ErrNotFound):
				return Verification{}, err // no record is a verdict; no answer is not
			}
		}
	}
	if stored == nil {
		// Not a badge credential of this issuer: a VC-API one, perhaps.
		if v, ok, err := s.verifyVC(ctx, string(compact), &tok, org); err != nil || ok {
			return v, err
		}
	}
	return s.check(ctx, string(compact), &tok, org, badge, stored, active, listVersion)
}

// check runs the five checks of compact against the stored record (nil
// when the document names no credential of this issuer). tok is compact
// read, or nil to read it here; active is the fragment of the
// organization's active key as read with the record (nil: not read),
// listVersion the version the record's status list was last published
// at. An
// error means no verdict: a key that could not be read is not a bad
// signature.
func (s *Service) check(ctx context.Context, compact string, tok *signing.Token, org domain.Organization, badge domain.Badge, stored *domain.Credential, active *string, listVersion int64) (Verification, error) {
	now := s.clock.Now()
	out := Verification{Credential: stored, Badge: badge, Org: org}
	sig, err := s.verifiedSignature(ctx, compact, tok, org, stored, active)
	if err != nil {
		return Verification{}, err
	}
	checks := []domain.Check{sig.check}

	integrity := domain.Check{Name: domain.CheckIntegrity, OK: true, Detail: "the signed document matches the issuer's record"}
	switch {
	case sig.verified == nil:
		integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "not checked: the signature is not valid"}
	case stored == nil:
		integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the issuer has no record of this credential"}
	case sig.verified.docErr:
		integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the signed payload is not a credential document"}
		out.Document = &Document{}
	default:
		doc := sig.verified.doc // a copy: the kept one is shared
		if bad := sig.verified.contradictions; len(bad) > 0 {
			integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the signed document contradicts itself: its JWT claims " +
				strings.Join(bad, ", ") + " differ from the credential's members they mirror"}
		} else if bad := s.mismatches(sig.verified, *stored, org, badge); len(bad) > 0 {
			integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the record differs from the signed document in: " + strings.Join(bad, ", ")}
		} else if compact != stored.JWS {
			integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the presented file differs from the one the issuer stored"}
		}
		out.Document = &doc
	}
	checks = append(checks, integrity)

	claimed := false
	if stored != nil {
		claimed = stored.ClaimedAt != nil
		checks = append(checks, ExpiryCheck(stored.ExpiresAt, now), s.statusCheck(ctx, *stored, org, listVersion, active))
	} else {
		checks = append(checks,
			domain.Check{Name: domain.CheckExpiry, Detail: "unknown: the issuer has no record of this credential"},
			domain.Check{Name: domain.CheckRevocation, Detail: "unknown: the issuer has no record of this credential"})
	}
	checks = append(checks, issuerCheck(org))
	out.Checks = checks
	out.Result = domain.Verdict(checks, claimed)
	s.tally.Count(org.ID)
	return out, nil
}

// mismatches is URLs.Mismatches of v's signed document and the record,
// reused from v when v was last compared with a record the same in every
// field the comparison reads (see integrityMemo).
func (s *Service) mismatches(v *verified, c domain.Credential, org domain.Organization, badge domain.Badge) []string {
	in := integrityInputsOf(c, org, badge)
	if m := v.integrity.Load(); m != nil && m.in.equal(in) {
		return m.bad
	}
	bad := s.urls.Mismatches(v.doc, c, org, badge)
	v.integrity.Store(&integrityMemo{in: in, bad: bad})
	return bad
}

// signatureResult is a signature check and, when it passed, what was
// verified.
type signatureResult struct {
	check    domain.Check
	verified *verified
}

// verifiedSignature checks compact's signature with org's key that its
// kid names. A stored credential's own bytes (compact is stored.JWS) are
// checked once and the outcome kept, by credential ID with the bytes
// checked (see verified); only whether the key is still the active one
// is told afresh.
func (s *Service) verifiedSignature(ctx context.Context, compact string, tok *signing.Token, org domain.Organization, stored *domain.Credential, active *string) (signatureResult, error) {
	keep := stored != nil && active != nil && compact == stored.JWS
	if keep {
		if v, ok := s.caches.signatures.get(stored.ID); ok && v.jws == compact && v.orgID == org.ID {
			check := v.retiredCheck
			if keyStatus(v.fragment, *active) == domain.KeyActive {
				check = v.activeCheck
			}
			return signatureResult{check: check, verified: v}, nil
		}
	}
	if tok == nil {
		t, err := signing.ParseToken([]byte(compact))
		if err != nil {
			return signatureResult{check: domain.Check{Name: domain.CheckSignature, Detail: "the credential is not a readable compact JWS"}}, nil
		}
		tok = &t
	}
	fail := func(detail string) (signatureResult, error) {
		return signatureResult{check: domain.Check{Name: domain.CheckSignature, Detail: detail}}, nil
	}
	kid := tok.Header.KID
	did, fragment, ok := signing.SplitKeyID(kid)
	if !ok || did != s.urls.DID(org.Slug) || !domain.ControlFree(fragment, false) {
		return fail(fmt.Sprintf("the key %q is not one of %s's keys", kid, org.Name))
	}
	pub, status, err := s.issuerKey(ctx, org, fragment, active)
	if errors.Is(err, domain.ErrNotFound) {
		return fail(fmt.Sprintf("the key %q is not published by %s", kid, org.Name))
	}
	if err != nil {
		return signatureResult{}, err
	}
	if pub == nil {
		return fail(fmt.Sprintf("the signature does not verify with %s", kid))
	}
	payload, check := SignatureCheck(*tok, IssuerKey{KID: kid, Key: pub, Status: status})
	if payload == nil {
		return signatureResult{check: check}, nil
	}
	v := &verified{orgID: org.ID, kid: kid, fragment: fragment, alg: pub.Algorithm()}
	if v.doc, err = ParseDocument(payload); err != nil {
		v.docErr = true
	} else {
		v.contradictions = v.doc.ClaimMismatches()
	}
	if keep {
		v.jws = compact
		v.activeCheck, v.retiredCheck = signedCheck(kid, v.alg, domain.KeyActive), signedCheck(kid, v.alg, domain.KeyRetired)
		s.caches.signatures.put(stored.ID, v)
	}
	return signatureResult{check: check, verified: v}, nil
}

// issuerKey returns org's public key with fragment and its status. With
// active (the fragment of the org's active key, read with the record) the
// key is taken from the kept keys when it is there, and its status told
// from active; without, the key is read from the store. A key whose
// public JWK cannot be parsed is nil.
func (s *Service) issuerKey(ctx context.Context, org domain.Organization, fragment string, active *string) (*signing.PublicKey, domain.KeyStatus, error) {
	id := issuerKeyID{orgID: org.ID, fragment: fragment}
	if active != nil {
		if pub, ok := s.caches.keys.get(id); ok {
			return pub, keyStatus(fragment, *active), nil
		}
	}
	key, err := s.store.SigningKeys().GetByFragment(ctx, org.ID, fragment)
	if err != nil {
		return nil, "", err
	}
	pub, err := signing.ParsePublicKey(key.PublicJWK, key.Algorithm)
	if err != nil {
		return nil, key.Status, nil
	}
	s.caches.keys.put(id, pub)
	return pub, key.Status, nil
}

// keyStatus is the status of an organization's key fragment given its
// active key's: any other key of the organization is retired.
func keyStatus(fragment, active string) domain.KeyStatus {
	if fragment == active {
		return domain.KeyActive
	}
	return domain.KeyRetired
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
	return payload, signedCheck(key.KID, key.Key.Algorithm(), key.Status)
}

// signedCheck is the passed signature check of a signature made with kid.
func signedCheck(kid string, alg domain.Algorithm, status domain.KeyStatus) domain.Check {
	detail := fmt.Sprintf("signed by %s (%s key published by the issuer)", kid, alg)
	switch status {
	case domain.KeyActive:
		detail = fmt.Sprintf("signed by %s (%s, active key)", kid, alg)
	case domain.KeyRetired:
		detail = fmt.Sprintf("signed by %s (%s, retired key)", kid, alg)
	}
	return domain.Check{Name: domain.CheckSignature, OK: true, Detail: detail}
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
