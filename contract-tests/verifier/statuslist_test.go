package verifier_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/statuslist"
	"github.com/credence-dev/credence/ports"
)

// thirdParty reads a credential's status as a verifier that knows nothing
// of Credence does (W3C Bitstring Status List v1.0, with go-jose for the
// signatures and the standard library for the list): from the .jwt's
// credentialStatus entries, the status list credentials at their URLs
// (fetched here through the same call the HTTP route serves), and the
// issuer's published JWKS. It fails on anything a careful verifier would.
type thirdParty struct {
	t    *testing.T
	e    *env
	jwks jose.JSONWebKeySet
}

func newThirdParty(t *testing.T, e *env, is issuer) *thirdParty {
	published, _ := e.published(t, is)
	p := &thirdParty{t: t, e: e}
	if err := json.Unmarshal(published, &p.jwks); err != nil {
		t.Fatal(err)
	}
	return p
}

// payload verifies a compact JWS with the JWKS key its kid names.
func (p *thirdParty) payload(compact string) ([]byte, error) {
	sig, err := jose.ParseSignedCompact(compact, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
	if err != nil {
		return nil, err
	}
	keys := p.jwks.Key(sig.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		return nil, fmt.Errorf("no published key %q", sig.Signatures[0].Header.KeyID)
	}
	return sig.Verify(keys[0].Key)
}

// status returns, by purpose, whether the credential's bit is set.
func (p *thirdParty) status(jws string) (map[string]bool, error) {
	payload, err := p.payload(jws)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	var vc struct {
		Issuer           struct{ ID string } `json:"issuer"`
		CredentialStatus []struct {
			ID, Type, StatusPurpose, StatusListIndex, StatusListCredential string
		} `json:"credentialStatus"`
	}
	if err := json.Unmarshal(payload, &vc); err != nil {
		return nil, err
	}
	if len(vc.CredentialStatus) == 0 {
		return nil, errors.New("the credential carries no credentialStatus")
	}
	out := map[string]bool{}
	for _, entry := range vc.CredentialStatus {
		if entry.Type != "BitstringStatusListEntry" || entry.ID != entry.StatusListCredential+"#"+entry.StatusListIndex {
			return nil, fmt.Errorf("entry %+v", entry)
		}
		index, err := strconv.Atoi(entry.StatusListIndex)
		if err != nil {
			return nil, err
		}
		listID := entry.StatusListCredential[strings.LastIndex(entry.StatusListCredential, "/")+1:]
		doc, _, err := p.e.creds.StatusListDocument(p.t.Context(), listID) // GET statusListCredential
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", entry.StatusListCredential, err)
		}
		listPayload, err := p.payload(doc)
		if err != nil {
			return nil, fmt.Errorf("status list %s: %w", entry.StatusListCredential, err)
		}
		var list struct {
			ID                string   `json:"id"`
			Type              []string `json:"type"`
			Issuer            string   `json:"issuer"`
			CredentialSubject struct {
				Type, StatusPurpose, EncodedList string
			} `json:"credentialSubject"`
		}
		if err := json.Unmarshal(listPayload, &list); err != nil {
			return nil, err
		}
		if list.ID != entry.StatusListCredential || !slices.Contains(list.Type, "BitstringStatusListCredential") ||
			list.Issuer != vc.Issuer.ID || list.CredentialSubject.Type != "BitstringStatusList" ||
			list.CredentialSubject.StatusPurpose != entry.StatusPurpose {
			return nil, fmt.Errorf("status list %s is not the list of this entry: %s", entry.StatusListCredential, listPayload)
		}
		zipped, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(list.CredentialSubject.EncodedList, "u"))
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			return nil, err
		}
		bits, err := io.ReadAll(zr)
		if err != nil {
			return nil, err
		}
		if len(bits)*8 < 131072 || index >= len(bits)*8 {
			return nil, fmt.Errorf("list of %d entries, index %d", len(bits)*8, index)
		}
		out[entry.StatusPurpose] = bits[index/8]&(0x80>>(index%8)) != 0
	}
	return out, nil
}

func (p *thirdParty) expect(what, jws string, revoked, suspended bool) {
	p.t.Helper()
	got, err := p.status(jws)
	if err != nil {
		p.t.Fatalf("%s: a third party cannot read the status: %v", what, err)
	}
	if want := map[string]bool{"revocation": revoked, "suspension": suspended}; !maps(got, want) {
		p.t.Errorf("%s: a third party reads %v, want %v", what, got, want)
	}
}

func maps(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func (e *env) verifyStored(t *testing.T, c domain.Credential) credentials.Verification {
	t.Helper()
	v, err := e.creds.Verify(t.Context(), e.owner, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func revocationDetail(v credentials.Verification) string {
	for _, c := range v.Checks {
		if c.Name == domain.CheckRevocation {
			return c.Detail
		}
	}
	return ""
}

// Every issued credential names its places in the issuer's revocation and
// suspension lists; revoking and suspending it sets its bits where any
// verifier reads them, from the .jwt and public documents alone, and
// lifting a suspension clears them again. Credence's own verification
// says the same.
func TestStatusListsPublishRevocationAndSuspension(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	first, second := e.issue(t, acme, "rae@example.com"), e.issue(t, acme, "sam@example.com")
	p := newThirdParty(t, e, acme)
	p.expect("a fresh credential", first.JWS, false, false)
	p.expect("another", second.JWS, false, false)
	if first.Slot == nil || second.Slot == nil || first.Slot.List != second.Slot.List || first.Slot.Index == second.Slot.Index {
		t.Fatalf("places %+v and %+v: want two places of one list", first.Slot, second.Slot)
	}
	if v := e.verifyStored(t, first); v.Result != domain.ResultPending || !strings.Contains(revocationDetail(v), "status lists agree") {
		t.Errorf("a fresh credential verifies %s (%s)", v.Result, revocationDetail(v))
	}

	ctx := t.Context()
	if _, err := e.creds.Revoke(ctx, e.owner, acme.org.ID, first.ID, "issued in error"); err != nil {
		t.Fatal(err)
	}
	p.expect("revoked", first.JWS, true, false)
	p.expect("its neighbour", second.JWS, false, false)

	if _, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, second.ID, " "); domain.CodeOf(err) != domain.CodeValidation {
		t.Errorf("suspending without a reason: %v, want %s", err, domain.CodeValidation)
	}
	if _, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, first.ID, "review"); domain.CodeOf(err) != domain.CodeInvalidState {
		t.Errorf("suspending a revoked credential: %v, want %s", err, domain.CodeInvalidState)
	}
	suspended, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, second.ID, "under review")
	if err != nil {
		t.Fatal(err)
	}
	if suspended.Status(e.clock.Now()) != domain.StatusSuspended || suspended.SuspensionReason != "under review" {
		t.Errorf("suspended credential: status %s, reason %q", suspended.Status(e.clock.Now()), suspended.SuspensionReason)
	}
	p.expect("suspended", second.JWS, false, true)
	v := e.verifyStored(t, second)
	if v.Result != domain.ResultSuspended || !strings.Contains(revocationDetail(v), "under review") {
		t.Errorf("a suspended credential verifies %s (%s)", v.Result, revocationDetail(v))
	}
	if _, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, second.ID, "again"); domain.CodeOf(err) != domain.CodeInvalidState {
		t.Errorf("suspending twice: %v, want %s", err, domain.CodeInvalidState)
	}
	recipient := domain.Actor{UserID: domain.NewID(), UserEmail: "sam@example.com"}
	if _, err := e.creds.Claim(ctx, recipient, second.ID); domain.CodeOf(err) != domain.CodeNotClaimable {
		t.Errorf("claiming a suspended credential: %v, want %s", err, domain.CodeNotClaimable)
	}
	presented, err := e.creds.VerifyPresented(ctx, []byte(second.JWS))
	if err != nil || presented.Result != domain.ResultSuspended {
		t.Errorf("the suspended file presented verifies %s (%v)", presented.Result, err)
	}

	if _, err := e.creds.Unsuspend(ctx, e.owner, acme.org.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	p.expect("unsuspended", second.JWS, false, false)
	if v := e.verifyStored(t, second); v.Result != domain.ResultPending {
		t.Errorf("an unsuspended credential verifies %s (%s)", v.Result, revocationDetail(v))
	}
	if _, err := e.creds.Unsuspend(ctx, e.owner, acme.org.ID, second.ID); domain.CodeOf(err) != domain.CodeInvalidState {
		t.Errorf("unsuspending twice: %v, want %s", err, domain.CodeInvalidState)
	}
	if _, err := e.creds.Claim(ctx, recipient, second.ID); err != nil {
		t.Errorf("claiming after the suspension was lifted: %v", err)
	}

	// A renewal of a time-bound credential revokes the earlier one: its
	// bit is set too.
	days := 30
	globex := e.issuer(t, "Globex", "globex", &days)
	old := e.issue(t, globex, "kim@example.com")
	renewal := e.issue(t, globex, "kim@example.com")
	g := newThirdParty(t, e, globex)
	g.expect("the credential a renewal replaced", old.JWS, true, false)
	g.expect("the renewal", renewal.JWS, false, false)
	if old.Slot.List == first.Slot.List {
		t.Error("two issuers share a status list")
	}

	// Activity names both changes.
	entries, err := e.store.Activity().List(ctx, ports.ActivityFilter{OrgID: acme.org.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []domain.Action
	for _, a := range entries {
		actions = append(actions, a.Action)
	}
	for _, want := range []domain.Action{domain.ActCredentialSuspended, domain.ActCredentialUnsuspended, domain.ActCredentialRevoked} {
		if !slices.Contains(actions, want) {
			t.Errorf("activity %v lacks %s", actions, want)
		}
	}
}

// A status list that cannot be trusted or read makes the verdict
// "unknown", never "not revoked": a list whose bit was flipped after
// signing, one signed by another issuer's key, one published for the
// other purpose, and none at all.
func TestUnreadableStatusListsAreUnknown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	c := e.issue(t, acme, "rae@example.com")
	other := e.issuer(t, "Globex", "globex", nil)
	ctx := t.Context()
	list, err := e.store.StatusLists().Get(ctx, c.Slot.List)
	if err != nil {
		t.Fatal(err)
	}
	p := newThirdParty(t, e, acme)

	// The genuine revocation list with c's bit set but its signature kept.
	parts := strings.Split(list.Revocation, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var doc statuslist.Credential
	if err := json.Unmarshal(payload, &doc); err != nil {
		t.Fatal(err)
	}
	bits, err := statuslist.Decode(doc.CredentialSubject.EncodedList)
	if err != nil {
		t.Fatal(err)
	}
	bits.Set(c.Slot.Index)
	doc.CredentialSubject.EncodedList = bits.Encode()
	flipped, _ := json.Marshal(doc)
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(flipped) + "." + parts[2]

	// A well-signed list of another issuer, at this list's URL.
	signedByOther := func() string {
		d := statuslist.NewCredential(e.creds.URLs().StatusList(list.ID, statuslist.Revocation), e.creds.URLs().DID(acme.org.Slug),
			statuslist.Revocation, statuslist.NewBitstring(statuslist.Size), e.clock.Now())
		js, _ := json.Marshal(d)
		jws, err := e.signer(t, other).Sign(js)
		if err != nil {
			t.Fatal(err)
		}
		return jws
	}()

	version := list.Published
	for _, tc := range []struct {
		name                   string
		revocation, suspension string
	}{
		{"a flipped bit under the old signature", forged, list.Suspension},
		{"signed with another issuer's key", signedByOther, list.Suspension},
		{"the suspension list served as the revocation list", list.Suspension, list.Suspension},
		{"no revocation list", "", list.Suspension},
		{"not a JWS", "garbage", list.Suspension},
		{"no suspension list", list.Revocation, ""},
	} {
		version++
		if ok, err := e.store.StatusLists().Publish(ctx, list.ID, version, domain.StatusList{Revocation: tc.revocation, Suspension: tc.suspension}, e.clock.Now()); err != nil || !ok {
			t.Fatalf("%s: publish: %v %v", tc.name, ok, err)
		}
		v := e.verifyStored(t, c)
		if v.Result != domain.ResultUnknown || !strings.HasPrefix(revocationDetail(v), "unknown: ") {
			t.Errorf("%s: verifies %s (%s), want unknown", tc.name, v.Result, revocationDetail(v))
		}
		if tc.revocation != list.Revocation {
			if _, err := p.status(c.JWS); err == nil {
				t.Errorf("%s: the third party reads it", tc.name)
			}
		}
	}
	// The record's own revocation stands whatever the lists say.
	if _, err := e.creds.Revoke(ctx, e.owner, acme.org.ID, c.ID, "stolen"); err != nil {
		t.Fatal(err)
	}
	version++
	if _, err := e.store.StatusLists().Publish(ctx, list.ID, version+100, domain.StatusList{Revocation: "garbage", Suspension: "garbage"}, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if v := e.verifyStored(t, c); v.Result != domain.ResultRevoked {
		t.Errorf("a revoked credential with unreadable lists verifies %s", v.Result)
	}
}

// Places are handed out in a shuffled order, never twice; a credential
// issued before status lists (no credentialStatus) still verifies, with
// its revocation known only to Credence.
func TestStatusListPlacesAndOlderCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	seen := map[int]bool{}
	var order []int
	for i := range 40 {
		c := e.issue(t, acme, fmt.Sprintf("r%d@example.com", i))
		if seen[c.Slot.Index] {
			t.Fatalf("place %d handed out twice", c.Slot.Index)
		}
		seen[c.Slot.Index] = true
		order = append(order, c.Slot.Index)
	}
	if slices.IsSorted(order) || order[0] < 1000 && order[1] < 1000 && order[2] < 1000 {
		t.Errorf("places in issue order: %v", order[:10])
	}

	// An older credential: signed without a place, stored as it was.
	ctx := t.Context()
	old := domain.Credential{ID: domain.NewCredentialID(), OrgID: acme.org.ID, BadgeID: acme.badge.ID, RecipientName: "Old Timer",
		RecipientEmail: "old@example.com", IssuedAt: domain.Truncate(e.clock.Now()), Public: true, CreatedBy: e.owner.UserID}
	signer := e.signer(t, acme)
	org, err := e.store.Orgs().Get(ctx, acme.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	badge, err := e.store.Badges().Get(ctx, acme.org.ID, acme.badge.ID)
	if err != nil {
		t.Fatal(err)
	}
	doc := e.creds.URLs().BuildDocument(old, org, badge)
	if doc.CredentialStatus != nil {
		t.Fatal("a credential without a place got credentialStatus")
	}
	payload, _ := json.Marshal(doc)
	if old.JWS, err = signer.Sign(payload); err != nil {
		t.Fatal(err)
	}
	old.KeyID = signer.KID()
	if err := e.store.Credentials().Insert(ctx, old); err != nil {
		t.Fatal(err)
	}
	v := e.verifyStored(t, old)
	if v.Result != domain.ResultPending || !strings.Contains(revocationDetail(v), "before status lists") {
		t.Errorf("an older credential verifies %s (%s)", v.Result, revocationDetail(v))
	}
	if _, err := e.creds.Suspend(ctx, e.owner, acme.org.ID, old.ID, "review"); err != nil {
		t.Fatal(err)
	}
	if v := e.verifyStored(t, old); v.Result != domain.ResultSuspended {
		t.Errorf("a suspended older credential verifies %s", v.Result)
	}
}
