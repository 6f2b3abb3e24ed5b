package credentials

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/statuslist"
)

// Credentials issued through the VC-API (POST /credentials/issue) are
// VCDM 2.0 documents their caller wrote (core/vcapi checked them). The
// organization signs each as given, adding its issuer id, its two status
// list entries and the JWT claims that mirror the document, and records
// it (domain.VCRecord): verified against that record, revocable and
// suspendable through its place in the status lists like a badge
// credential.

// MaxVCRecordsPerID bounds the records one status change reaches: the
// records signed with one credential id.
const MaxVCRecordsPerID = 100

// IssuedVC is a credential issued through the VC-API: its compact JWS,
// and, when a Data Integrity proof was asked for, the signed document
// with the proof embedded (JSON).
type IssuedVC struct {
	JWS     string
	Secured []byte
}

// ErrNoDataIntegrity refuses a Data Integrity proof to an organization
// that has not switched them on (the VC-API answers it as a problem).
var ErrNoDataIntegrity = errors.New(
	"this organization has Data Integrity proofs off: an owner switches them on (PATCH /api/v1/orgs/{orgId} {\"dataIntegrityProof\": true})")

// IssueVC signs and records credential (a VCDM 2.0 credential that
// passed vcapi.CheckCredential) for the organization of actor, an API key
// with the issue permission. Its issuer must be the organization's DID (a
// string, or an object with that id or none); absent, it is set. With
// proof, the answer is also the signed document with its Data Integrity
// proof embedded (eddsa-rdfc-2022, the organization's proof key), which
// the organization must have switched on; with them on, every credential
// gets its proof, asked for or not.
func (s *Service) IssueVC(ctx context.Context, actor domain.Actor, credential map[string]any, proof bool) (IssuedVC, error) {
	if actor.Anonymous() {
		return IssuedVC{}, domain.ErrUnauthenticated
	}
	if !actor.IsAPIKey() {
		return IssuedVC{}, domain.Errorf(domain.CodeForbidden, "the VC-API issues with an organization's API key (Authorization: Bearer <key>)")
	}
	if actor.APIKeyMode == domain.APIKeyTest {
		// A badge credential issued in test mode says so in its name; a
		// caller's document has no place for the mark.
		return IssuedVC{}, domain.Errorf(domain.CodeForbidden, "test-mode API keys do not issue through the VC-API: its documents carry no test mark; use a live key")
	}
	org, err := s.guard.Org(ctx, actor, actor.APIKeyOrg, domain.PermIssue)
	if err != nil {
		return IssuedVC{}, err
	}
	if err := org.CanIssue(); err != nil {
		return IssuedVC{}, err
	}
	if proof && !org.DataIntegrity {
		return IssuedVC{}, ErrNoDataIntegrity
	}
	prover, err := s.prover(ctx, org)
	if err != nil {
		return IssuedVC{}, err
	}
	key, err := s.store.SigningKeys().Active(ctx, org.ID)
	if errors.Is(err, domain.ErrNotFound) {
		return IssuedVC{}, domain.ErrSigningKeysMissing
	}
	if err != nil {
		return IssuedVC{}, err
	}
	signer, err := s.signer(key, org.Slug)
	if err != nil {
		return IssuedVC{}, err
	}
	if id, ok := ownID(credential, strings.TrimSuffix(s.urls.Base.String(), "/")+"/"); ok {
		return IssuedVC{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.credential",
			Message: fmt.Sprintf("the id %q is under this server's public URL, whose names are Credence's own (its badge credentials, achievements, lists): give another", id)}}}
	}
	did := s.urls.DID(org.Slug)
	doc := make(map[string]any, len(credential)+4)
	for k, v := range credential {
		doc[k] = v
	}
	if err := setIssuer(doc, did); err != nil {
		return IssuedVC{}, err
	}
	now := s.now()
	r := domain.VCRecord{ID: domain.NewCredentialID(), OrgID: org.ID, IssuedAt: now,
		Test: actor.APIKeyMode == domain.APIKeyTest, KeyID: signer.KID(), CreatedBy: actor.ID()}
	if id, ok := doc["id"].(string); ok {
		r.VCID = id
		// Every record of one id takes each status change: their number
		// is bounded.
		same, err := s.store.VCRecords().ByVCID(ctx, org.ID, id, MaxVCRecordsPerID)
		if err != nil {
			return IssuedVC{}, err
		}
		if len(same) >= MaxVCRecordsPerID {
			return IssuedVC{}, domain.Errorf(domain.CodeInvalidState,
				"%d credentials were issued with the id %q: give each credential an id of its own", len(same), id)
		}
	} else {
		r.VCID = "urn:uuid:" + domain.NewID()
		doc["id"] = r.VCID
	}
	doc["iss"] = did
	if t, ok := vcTime(doc["validFrom"]); ok {
		r.ValidFrom, doc["nbf"] = &t, t.Unix()
	}
	if t, ok := vcTime(doc["validUntil"]); ok {
		r.ValidUntil, doc["exp"] = &t, t.Unix()
	}
	slots, err := s.slots(ctx, org, signer, 1)
	if err != nil {
		return IssuedVC{}, err
	}
	r.Slot = slots[0]
	doc["credentialStatus"] = append(callerStatus(doc["credentialStatus"]), s.statusEntries(r.Slot)...)
	payload, err := vcPayload(doc)
	if err != nil {
		return IssuedVC{}, err
	}
	if len(payload) > MaxVCPayload {
		return IssuedVC{}, &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.credential",
			Message: fmt.Sprintf("the credential is %d bytes once signed (escapes included); at most %d are, so that its JWS stays within what verification reads", len(payload), MaxVCPayload)}}}
	}
	sum := sha256.Sum256(payload)
	r.Digest = hex.EncodeToString(sum[:])
	if r.JWS, err = signer.Sign(payload); err != nil {
		return IssuedVC{}, err
	}
	// With proofs on, every credential gets one, as a badge credential
	// does; the secured document is the answer only when asked for.
	out := IssuedVC{JWS: r.JWS}
	if r.Proof, err = s.prove(prover, payload, now); err != nil {
		return IssuedVC{}, err
	}
	if proof {
		if out.Secured, err = embedProof(payload, r.Proof); err != nil {
			return IssuedVC{}, err
		}
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		if !r.Test {
			// Each credential counts as a recipient: its subjects are the
			// caller's to name.
			if _, err := s.store.Quota().Consume(ctx, org.ID, domain.MonthStart(now), "vc:"+string(r.ID), s.plans.Get(org.Plan).MonthlyRecipients); err != nil {
				return err
			}
		}
		if err := s.store.VCRecords().Insert(ctx, r); err != nil {
			return err
		}
		return s.record(ctx, actor, org.ID, domain.ActCredentialIssued, r.ID, "VC-API credential "+r.VCID)
	})
	if err != nil {
		return IssuedVC{}, fmt.Errorf("issue VC-API credential %s: %w", r.ID, err)
	}
	return out, nil
}

// setIssuer sets doc's issuer to did, or checks that the one given is it.
func setIssuer(doc map[string]any, did string) error {
	refuse := func(got string) error {
		return &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.credential.issuer",
			Message: fmt.Sprintf("issuer is %s, but this API key signs as %s: omit it, or give that id", got, did)}}}
	}
	switch is := doc["issuer"].(type) {
	case nil:
		doc["issuer"] = did
	case string:
		if is != did {
			return refuse(strconv.Quote(is))
		}
	case map[string]any:
		id, ok := is["id"]
		if !ok {
			withID := make(map[string]any, len(is)+1)
			for k, v := range is {
				withID[k] = v
			}
			withID["id"] = did
			doc["issuer"] = withID
			return nil
		}
		if s, _ := id.(string); s != did {
			return refuse(fmt.Sprintf("%v", id))
		}
	default:
		return refuse(fmt.Sprintf("%v", is))
	}
	return nil
}

// vcTime reads a validFrom or validUntil that vcapi.CheckCredential let
// through.
func vcTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}

// callerStatus is the credentialStatus the caller gave (kept beside
// Credence's entries), as a list.
func callerStatus(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// statusEntries are the credentialStatus entries of a place: revocation
// and suspension.
func (s *Service) statusEntries(slot domain.StatusSlot) []any {
	out := make([]any, 0, len(statuslist.Purposes))
	for _, p := range statuslist.Purposes {
		out = append(out, statuslist.NewEntry(s.urls.StatusList(slot.List, p), p, slot.Index))
	}
	return out
}

// MaxVCPayload bounds the payload of a VC-API credential, so that its
// compact JWS stays within the 64 KiB a presented credential may be.
const MaxVCPayload = 46 << 10

// vcPayload is the JSON Credence signs of a VC-API credential: ASCII
// only, every other character escaped (\uXXXX, surrogate pairs beyond
// the BMP), and, besides what encoding/json escapes (<, >, &), ?, ~ and
// DEL escaped too. The base64url of such JSON holds no - or _ (they come
// only from a byte 0x3e, 0x3f, 0x7e, 0x7f at the third place of a group
// of three, or from bytes above 0x7f), which naive decoders (atob, as
// the W3C suites use) refuse. Escaping changes no value: those
// characters can stand only inside strings.
func vcPayload(doc map[string]any) ([]byte, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(raw))
	for _, r := range string(raw) {
		switch {
		case r == '?' || r == '~' || r == 0x7f:
			fmt.Fprintf(&out, `\u%04x`, r)
		case r < utf8.RuneSelf:
			out.WriteByte(byte(r))
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.Bytes(), nil
}

// ownID returns an id member (at any depth, contexts aside) that lies
// under base, this server's public URL.
func ownID(v any, base string) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, member := range v {
			if k == "@context" {
				continue
			}
			if s, ok := member.(string); ok && k == "id" && (strings.HasPrefix(strings.ToLower(s), strings.ToLower(base)) || strings.EqualFold(s+"/", base)) {
				return s, true
			}
			if id, ok := ownID(member, base); ok {
				return id, true
			}
		}
	case []any:
		for _, item := range v {
			if id, ok := ownID(item, base); ok {
				return id, true
			}
		}
	}
	return "", false
}

// VCStatusChange is a change of a VC-API credential's status: set (or,
// for suspension, clear) the bit of purpose.
type VCStatusChange struct {
	VCID    string
	Purpose statuslist.Purpose
	Set     bool
	Reason  string
}

// ChangeVCStatus revokes, suspends or unsuspends every credential the
// organization of actor (an API key with the revoke permission) signed
// through the VC-API with the credential id ch.VCID, and marks their
// status lists for publishing. Revocation is final: clearing it is
// refused, as is a change that changes nothing.
func (s *Service) ChangeVCStatus(ctx context.Context, actor domain.Actor, ch VCStatusChange) (int, error) {
	if actor.Anonymous() {
		return 0, domain.ErrUnauthenticated
	}
	if !actor.IsAPIKey() {
		return 0, domain.Errorf(domain.CodeForbidden, "the VC-API changes a status with an organization's API key (Authorization: Bearer <key>)")
	}
	if ch.Reason == "" {
		ch.Reason = "set through the VC-API"
	}
	var change func(c *domain.Credential) error
	var action domain.Action
	switch {
	case ch.Purpose == statuslist.Revocation && ch.Set:
		action, change = domain.ActCredentialRevoked, func(c *domain.Credential) error { return c.Revoke(ch.Reason, s.clock.Now()) }
	case ch.Purpose == statuslist.Revocation:
		return 0, domain.Errorf(domain.CodeInvalidState, "revocation is final: a revoked credential cannot be reinstated")
	case ch.Set:
		action, change = domain.ActCredentialSuspended, func(c *domain.Credential) error { return c.Suspend(ch.Reason, s.clock.Now()) }
	default:
		action, change = domain.ActCredentialUnsuspended, func(c *domain.Credential) error { return c.Unsuspend() }
	}
	var changed []string
	var n int
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		changed, n = nil, 0
		org, err := s.guard.Org(ctx, actor, actor.APIKeyOrg, domain.PermRevoke)
		if err != nil {
			return err
		}
		rs, err := s.store.VCRecords().ForUpdate(ctx, org.ID, ch.VCID, MaxVCRecordsPerID)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return fmt.Errorf("no credential %q was issued through the VC-API by %s: %w", ch.VCID, org.Name, domain.ErrNotFound)
		}
		// Records already so are left as they are (a reused id's earlier
		// credential revoked, say); a change that changes none is refused.
		var cs []domain.Credential
		var refusal error
		for _, r := range rs {
			if err := r.Change(change); err != nil {
				refusal = err
				continue
			}
			if err := s.store.VCRecords().Update(ctx, r); err != nil {
				return err
			}
			if err := s.record(ctx, actor, org.ID, action, r.ID, "VC-API credential "+r.VCID+": "+ch.Reason); err != nil {
				return err
			}
			cs = append(cs, r.Credential())
		}
		if len(cs) == 0 {
			return refusal
		}
		n = len(cs)
		changed, err = s.statusChanged(ctx, cs...)
		return err
	})
	if err == nil && len(changed) > 0 {
		s.relay.StatusListsChanged(context.WithoutCancel(ctx), changed...)
	}
	return n, err
}

// verifyVC verifies a JWS that org signed but that names no badge
// credential: a VC-API credential, found by the digest of its payload.
// It reports false when org has no record of it (the caller then answers
// as for any unrecorded document).
func (s *Service) verifyVC(ctx context.Context, compact string, tok *signing.Token, org domain.Organization) (Verification, bool, error) {
	sum := sha256.Sum256(tok.Payload)
	r, err := s.store.VCRecords().ByDigest(ctx, org.ID, hex.EncodeToString(sum[:]))
	if errors.Is(err, domain.ErrNotFound) {
		return Verification{}, false, nil
	}
	if err != nil {
		return Verification{}, false, err
	}
	sig, err := s.verifiedSignature(ctx, compact, tok, org, nil, nil)
	if err != nil {
		return Verification{}, false, err
	}
	integrity := domain.Check{Name: domain.CheckIntegrity, OK: true, Detail: "the signed document is the one the issuer recorded"}
	switch {
	case sig.verified == nil:
		integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "not checked: the signature is not valid"}
	case compact != r.JWS:
		integrity = domain.Check{Name: domain.CheckIntegrity, Detail: "the presented file differs from the one the issuer stored"}
	}
	v, err := s.recordVerification(ctx, r, org, sig.check, integrity)
	return v, err == nil, err
}

// recordVerification completes the verification of a VC-API credential
// whose signature (or proof) and integrity were checked: its expiry, its
// status (the record and the issuer's published lists), the issuer.
func (s *Service) recordVerification(ctx context.Context, r domain.VCRecord, org domain.Organization, signature, integrity domain.Check) (Verification, error) {
	l, err := s.store.StatusLists().Get(ctx, r.Slot.List)
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return Verification{}, err
	}
	now := s.clock.Now()
	expiry := ExpiryCheck(r.ValidUntil, now)
	if r.ValidFrom != nil && now.Before(*r.ValidFrom) {
		expiry = domain.Check{Name: domain.CheckExpiry, Outcome: domain.ResultPending,
			Detail: "not yet valid: valid from " + r.ValidFrom.Format(time.RFC3339)}
	}
	checks := []domain.Check{signature, integrity, expiry, s.statusCheck(ctx, r.Credential(), org, l.Published, nil), issuerCheck(org)}
	s.tally.Count(org.ID)
	return Verification{Record: &r, Org: org, Checks: checks, Result: domain.Verdict(checks, true)}, nil
}

// securedRecord is the organization's VC-API credential with the id
// vcID whose signed payload is doc (the secured document without its
// proof), if there is one.
func (s *Service) securedRecord(ctx context.Context, org domain.Organization, vcID string, doc []byte) (domain.VCRecord, []byte, bool, error) {
	rs, err := s.store.VCRecords().ByVCID(ctx, org.ID, vcID, MaxVCRecordsPerID)
	if err != nil {
		return domain.VCRecord{}, nil, false, err
	}
	for _, r := range rs {
		_, payload, err := signing.Parse([]byte(r.JWS))
		if err == nil && r.Proof != "" && sameJSON(payload, doc) {
			return r, payload, true, nil
		}
	}
	return domain.VCRecord{}, nil, false, nil
}
