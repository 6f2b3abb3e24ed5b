// Package verifier_test checks core/verifier against what the product
// really issues and publishes: credentials issued through the real
// services on a SQLite store, keys read from the service's public
// documents (JWKS, did.json), verified offline and, for comparison, online.
package verifier_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/jsonld"
	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/badges"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/verifier"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

var update = flag.Bool("update", false, "rewrite core/verifier/testdata from credentials issued here")

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type nopRelay struct{}

func (nopRelay) MailsQueued(context.Context, ...string) {}

// publishRelay publishes changed status lists at once, as the worker
// would a moment later.
type publishRelay struct{ creds **credentials.Service }

func (publishRelay) MailsQueued(context.Context, ...string) {}

func (r publishRelay) StatusListsChanged(ctx context.Context, ids ...string) {
	for _, id := range ids {
		if err := (*r.creds).PublishStatusList(ctx, id); err != nil {
			panic(err)
		}
	}
}

// env is the product's services over one SQLite store.
type env struct {
	store  ports.Store
	clock  *clock
	cipher *signing.Cipher
	orgs   *orgs.Service
	badges *badges.Service
	creds  *credentials.Service
	canon  *jsonld.Canonicalizer
	owner  domain.Actor
	admin  domain.Actor
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	store, err := sqlstore.Open(ctx, harness.FreshSQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	master := make([]byte, signing.MasterKeySize)
	_, _ = rand.Read(master)
	cipher, err := signing.NewCipher(master)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 11, 22, 3, 23, 15, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	plans := domain.DefaultPlans()
	now := domain.Truncate(clk.Now())
	user := domain.User{ID: domain.NewID(), Email: "owner@example.com", Name: "Olga Owner", PasswordHash: "x", EmailVerifiedAt: &now, CreatedAt: now}
	if err := store.Users().Create(ctx, user); err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://credentials.example.com")
	e := &env{
		store: store, clock: clk, cipher: cipher,
		orgs:   orgs.New(store, clk, work.NewOutbox(store, cipher, nopRelay{}, clk), cipher, plans, log),
		badges: badges.New(store, clk, plans),
		owner:  domain.Actor{UserID: user.ID, UserEmail: user.Email},
		admin:  domain.Actor{UserID: user.ID, Admin: true},
	}
	e.creds = credentials.New(store, clk, publishRelay{&e.creds}, cipher, plans, credentials.URLs{Base: base}, log)
	canon, err := jsonld.New()
	if err != nil {
		t.Fatal(err)
	}
	e.creds.UseCanonicalizer(canon)
	e.canon = canon
	return e
}

// issuer is an approved organization with a signing key and a badge.
type issuer struct {
	org   domain.Organization
	badge domain.Badge
}

// issuer makes an issuer signing with the default algorithm (ES256).
func (e *env) issuer(t *testing.T, name, slug string, expiresInDays *int) issuer {
	t.Helper()
	return e.issuerAlg(t, name, slug, expiresInDays, domain.AlgES256)
}

// issuerAlg makes an issuer whose key signs with alg.
func (e *env) issuerAlg(t *testing.T, name, slug string, expiresInDays *int, alg domain.Algorithm) issuer {
	t.Helper()
	ctx := t.Context()
	site := "https://" + slug + ".example"
	org, err := e.orgs.Create(ctx, e.owner, domain.OrgInput{Name: &name, Slug: &slug, WebsiteURL: &site})
	if err != nil {
		t.Fatal(err)
	}
	if org, err = e.orgs.Decide(ctx, e.admin, org.ID, orgs.Approve, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.orgs.GenerateKeys(ctx, e.owner, org.ID, alg); err != nil {
		t.Fatal(err)
	}
	text := func(s string) *string { return &s }
	badge, err := e.badges.Create(ctx, e.owner, org.ID, domain.BadgeInput{Name: text("Go Expert"), Description: text("Knows Go"),
		Criteria: text("Passed the exam"), ImageURL: text(site + "/go.png"), ExpiresInDays: expiresInDays})
	if err != nil {
		t.Fatal(err)
	}
	return issuer{org: org, badge: badge}
}

func (e *env) issue(t *testing.T, is issuer, email string) domain.Credential {
	t.Helper()
	out, err := e.creds.Issue(t.Context(), e.owner, is.org.ID, credentials.IssueInput{BadgeID: is.badge.ID,
		Recipient: domain.Recipient{Name: "Rae Recipient", Email: email}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Credential
}

// published returns the issuer's JWKS and did.json as the product serves them.
func (e *env) published(t *testing.T, is issuer) (jwks, did []byte) {
	t.Helper()
	jwks, err := e.creds.JWKS(t.Context(), is.org.Slug)
	if err != nil {
		t.Fatal(err)
	}
	did, err = e.creds.DIDDocument(t.Context(), is.org.Slug)
	if err != nil {
		t.Fatal(err)
	}
	return jwks, did
}

// signer signs with the issuer's active key as the product does: for
// documents the product would never sign.
func (e *env) signer(t *testing.T, is issuer) *signing.Signer {
	t.Helper()
	return e.signerNaming(t, is, "")
}

// signerNaming signs with the issuer's active key but writes kid in the
// header (the key's own when kid is empty): a forger holding one
// issuer's key who names another's.
func (e *env) signerNaming(t *testing.T, is issuer, kid string) *signing.Signer {
	t.Helper()
	key, err := e.store.SigningKeys().Active(t.Context(), is.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := e.cipher.Decrypt(key.PrivateEnc)
	if err != nil {
		t.Fatal(err)
	}
	if kid == "" {
		kid = signing.KeyID(e.creds.URLs().DID(is.org.Slug), key.Fragment)
	}
	s, err := signing.NewSigner(priv, key.Algorithm, kid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newVerifier(t *testing.T, doc []byte) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(doc)
	if err != nil {
		t.Fatalf("verifier.New: %v\n%s", err, doc)
	}
	return v
}

func verify(t *testing.T, v *verifier.Verifier, jws string, at time.Time) verifier.Result {
	t.Helper()
	res, err := v.VerifyAt([]byte(jws), at)
	if err != nil {
		t.Fatalf("VerifyAt: %v", err)
	}
	if len(res.Checks) != 5 {
		t.Fatalf("%d checks: %+v", len(res.Checks), res.Checks)
	}
	return res
}

func check(t *testing.T, r verifier.Result, name domain.CheckName) domain.Check {
	t.Helper()
	c, ok := r.Check(name)
	if !ok {
		t.Fatalf("no %s check in %+v", name, r.Checks)
	}
	return c
}

// Both published documents verify what the product issued, with every
// check the online verification makes as far as it can be made offline;
// revocation is said to be unknown, and where the issuer answers.
func TestOfflineVerifiesIssuedCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	c := e.issue(t, acme, "rae@example.com")
	jwks, did := e.published(t, acme)
	for name, doc := range map[string][]byte{"jwks": jwks, "did.json": did} {
		t.Run(name, func(t *testing.T) {
			v := newVerifier(t, doc)
			if want := "did:web:credentials.example.com:issuers:acme"; v.Issuer() != want {
				t.Errorf("Issuer() = %q, want %q", v.Issuer(), want)
			}
			res := verify(t, v, c.JWS, e.clock.Now())
			if res.Result != domain.ResultValid {
				t.Fatalf("Result = %s, want valid: %+v", res.Result, res.Checks)
			}
			for _, name := range []domain.CheckName{domain.CheckSignature, domain.CheckIntegrity, domain.CheckExpiry, domain.CheckIssuer} {
				if ch := check(t, res, name); !ch.OK {
					t.Errorf("%s check failed: %s", name, ch.Detail)
				}
			}
			if sc := check(t, res, domain.CheckSignature); !strings.Contains(sc.Detail, c.KeyID) {
				t.Errorf("signature detail %q does not name the kid %s", sc.Detail, c.KeyID)
			}
			rc := check(t, res, domain.CheckRevocation)
			wantURL := "https://credentials.example.com/verify/" + string(c.ID)
			if rc.OK || !strings.Contains(rc.Detail, "unknown offline") || !strings.Contains(rc.Detail, wantURL) {
				t.Errorf("revocation check = %+v, want not OK, unknown offline, pointing at %s", rc, wantURL)
			}
			if res.Credential != c.ID || res.VerifyURL != wantURL || res.KeyID != c.KeyID {
				t.Errorf("Result names %s, %s, %s; want %s, %s, %s", res.Credential, res.VerifyURL, res.KeyID, c.ID, wantURL, c.KeyID)
			}
			if res.Document == nil || res.Document.CredentialSubject.Name != "Rae Recipient" || res.Document.Issuer.Name != "Acme Academy" {
				t.Errorf("Document = %+v", res.Document)
			}
			if ec := check(t, res, domain.CheckExpiry); ec.Detail != "never expires" {
				t.Errorf("expiry detail = %q", ec.Detail)
			}
		})
	}

	// The online verification of the same file agrees on every check
	// both can make.
	online, err := e.creds.VerifyPresented(t.Context(), []byte(c.JWS))
	if err != nil {
		t.Fatal(err)
	}
	offline := verify(t, newVerifier(t, jwks), c.JWS, e.clock.Now())
	for _, oc := range online.Checks {
		if oc.Name == domain.CheckRevocation {
			continue
		}
		if fc := check(t, offline, oc.Name); fc.OK != oc.OK {
			t.Errorf("%s: online %v (%s), offline %v (%s)", oc.Name, oc.OK, oc.Detail, fc.OK, fc.Detail)
		}
	}
	if online.Document == nil || offline.Document.ID != online.Document.ID {
		t.Errorf("offline document %s, online %+v", offline.Document.ID, online.Document)
	}
}

// A time-bound credential is valid until its validUntil, then expired,
// offline as online (one expiry check serves both).
func TestOfflineExpiryMatchesOnline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	days := 30
	acme := e.issuer(t, "Acme Academy", "acme", &days)
	c := e.issue(t, acme, "rae@example.com")
	jwks, _ := e.published(t, acme)
	v := newVerifier(t, jwks)

	res := verify(t, v, c.JWS, e.clock.Now())
	if ec := check(t, res, domain.CheckExpiry); res.Result != domain.ResultValid || !ec.OK || !strings.HasPrefix(ec.Detail, "valid until ") {
		t.Fatalf("before expiry: %s, %+v", res.Result, ec)
	}
	e.clock.add(31 * 24 * time.Hour)
	res = verify(t, v, c.JWS, e.clock.Now())
	online, err := e.creds.VerifyPresented(t.Context(), []byte(c.JWS))
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != domain.ResultExpired || online.Result != domain.ResultExpired {
		t.Fatalf("after expiry: offline %s, online %s", res.Result, online.Result)
	}
	if off, on := check(t, res, domain.CheckExpiry), online.Checks[2]; off != on {
		t.Errorf("expiry check: offline %+v, online %+v", off, on)
	}
}

// Retired keys stay published, so a credential signed before a rotation
// still verifies with the keys published after it; the keys published
// before it do not know the new key.
func TestOfflineRotatedKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	old := e.issue(t, acme, "rae@example.com")
	jwksBefore, _ := e.published(t, acme)
	if _, err := e.orgs.RotateKeys(t.Context(), e.owner, acme.org.ID); err != nil {
		t.Fatal(err)
	}
	fresh := e.issue(t, acme, "sam@example.com")
	if old.KeyID == fresh.KeyID {
		t.Fatalf("rotation kept the kid %s", old.KeyID)
	}
	jwksAfter, didAfter := e.published(t, acme)
	for name, doc := range map[string][]byte{"jwks": jwksAfter, "did.json": didAfter} {
		v := newVerifier(t, doc)
		if got := v.KeyIDs(); len(got) != 2 {
			t.Fatalf("%s after rotation publishes %v, want the retired and the active key", name, got)
		}
		for _, c := range []domain.Credential{old, fresh} {
			res := verify(t, v, c.JWS, e.clock.Now())
			if res.Result != domain.ResultValid || !strings.Contains(check(t, res, domain.CheckSignature).Detail, c.KeyID) {
				t.Errorf("%s: credential signed by %s: %s %+v", name, c.KeyID, res.Result, res.Checks)
			}
		}
	}
	res := verify(t, newVerifier(t, jwksBefore), fresh.JWS, e.clock.Now())
	if sc := check(t, res, domain.CheckSignature); res.Result != domain.ResultInvalid || sc.OK || !strings.Contains(sc.Detail, "not among the keys") {
		t.Errorf("new key against the keys published before it: %s %+v", res.Result, sc)
	}
}

// What the issuer did not sign, or signed for another, is invalid: a
// changed payload or header, another issuer's keys, and a document signed
// with the issuer's own key that names another issuer.
func TestOfflineRefusesForgeries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	globex := e.issuer(t, "Globex Institute", "globex", nil)
	c := e.issue(t, acme, "rae@example.com")
	acmeJWKS, _ := e.published(t, acme)
	globexJWKS, globexDID := e.published(t, globex)
	v := newVerifier(t, acmeJWKS)
	parts := strings.Split(c.JWS, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])

	sigFlipped := []byte(parts[2])
	// Another base64url character: flipping bits could make '.' of '-',
	// and the token no JWS at all.
	if sigFlipped[3] == 'A' {
		sigFlipped[3] = 'B'
	} else {
		sigFlipped[3] = 'A'
	}
	forged := map[string]string{
		"recipient renamed": parts[0] + "." + b64([]byte(strings.Replace(string(payload), "Rae Recipient", "Eve Recipient", 1))) + "." + parts[2],
		"validUntil added":  parts[0] + "." + b64([]byte(strings.Replace(string(payload), `"validFrom"`, `"validUntil":"2099-01-01T00:00:00Z","validFrom"`, 1))) + "." + parts[2],
		"signature changed": parts[0] + "." + parts[1] + "." + string(sigFlipped),
		"kid changed":       b64([]byte(strings.Replace(string(header), "key-1", "key-2", 1))) + "." + parts[1] + "." + parts[2],
		"no signature":      parts[0] + "." + parts[1] + ".",
	}
	for name, tok := range forged {
		res := verify(t, v, tok, e.clock.Now())
		if res.Result != domain.ResultInvalid || check(t, res, domain.CheckSignature).OK || res.Document != nil {
			t.Errorf("%s: %s %+v", name, res.Result, res.Checks)
		}
		if ic := check(t, res, domain.CheckIntegrity); ic.OK || !strings.HasPrefix(ic.Detail, "not checked") {
			t.Errorf("%s: integrity %+v", name, ic)
		}
		// The online verification refuses it too.
		if online, err := e.creds.VerifyPresented(t.Context(), []byte(tok)); err != nil || online.Result != domain.ResultInvalid {
			t.Errorf("%s: online %s, %v", name, online.Result, err)
		}
	}

	// Another issuer's keys: the kid is not theirs.
	for name, doc := range map[string][]byte{"jwks": globexJWKS, "did.json": globexDID} {
		res := verify(t, newVerifier(t, doc), c.JWS, e.clock.Now())
		if sc := check(t, res, domain.CheckSignature); res.Result != domain.ResultInvalid || sc.OK || !strings.Contains(sc.Detail, "not one of did:web:credentials.example.com:issuers:globex's keys") {
			t.Errorf("acme's credential with globex's %s: %s %+v", name, res.Result, sc)
		}
	}

	// acme's own key signs a document naming globex as its issuer: the
	// signature is genuine, the issuer is not the key's.
	signer := e.signer(t, acme)
	globexDIDString := e.creds.URLs().DID("globex")
	impostor, err := signer.Sign([]byte(strings.NewReplacer(acme.org.Slug+`"`, "globex\"", "/achievements/acme/", "/achievements/globex/").Replace(string(payload))))
	if err != nil {
		t.Fatal(err)
	}
	res := verify(t, v, impostor, e.clock.Now())
	ic := check(t, res, domain.CheckIssuer)
	if res.Result != domain.ResultInvalid || !check(t, res, domain.CheckSignature).OK || !check(t, res, domain.CheckIntegrity).OK ||
		ic.OK || !strings.Contains(ic.Detail, globexDIDString) {
		t.Errorf("acme-signed document naming globex: %s %+v", res.Result, res.Checks)
	}
	if online, err := e.creds.VerifyPresented(t.Context(), []byte(impostor)); err != nil || online.Result != domain.ResultInvalid {
		t.Errorf("acme-signed document naming globex, online: %s, %v", online.Result, err)
	}
}

// Input that is no compact JWS is refused with ErrMalformed, never a
// result; a JWS that is not a credential is invalid.
func TestOfflineGarbage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.issuer(t, "Acme Academy", "acme", nil)
	jwks, _ := e.published(t, acme)
	v := newVerifier(t, jwks)
	for _, in := range []string{"", "garbage", "a.b.c", "..", "\x00\xff", `{"credential":"x"}`, strings.Repeat("A", signing.MaxJWSSize+1)} {
		if res, err := v.Verify([]byte(in)); !errors.Is(err, verifier.ErrMalformed) || res.Result != "" {
			t.Errorf("Verify(%.40q) = %s, %v; want ErrMalformed", in, res.Result, err)
		}
	}
	for _, doc := range [][]byte{nil, []byte("garbage"), []byte(`{}`), []byte(`{"keys":[]}`), []byte(`{"keys":[{"kty":"EC"}]}`)} {
		if _, err := verifier.New(doc); err == nil {
			t.Errorf("New(%q) succeeded", doc)
		}
	}
}

// The example's files (core/verifier/testdata) are a credential the
// product issued and the keys it published after a rotation; they still
// verify with today's verifier. Regenerate them with
//
//	go test ./contract-tests/verifier -run TestExampleFiles -update
//
// then put the new credential ID in the Example's output.
func TestExampleFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "core", "verifier", "testdata")
	if *update {
		e := newEnv(t)
		acme := e.issuer(t, "Acme Academy", "acme", nil)
		old := e.issue(t, acme, "rae@example.com")
		if _, err := e.orgs.RotateKeys(t.Context(), e.owner, acme.org.ID); err != nil {
			t.Fatal(err)
		}
		jwks, did := e.published(t, acme)
		for name, b := range map[string][]byte{"acme.jwt": []byte(old.JWS + "\n"), "jwks.json": jwks, "did.json": did} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	jws, err := os.ReadFile(filepath.Join(dir, "acme.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"jwks.json", "did.json"} {
		doc, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if res := verify(t, newVerifier(t, doc), string(jws), time.Now()); res.Result != domain.ResultValid {
			t.Errorf("%s: %s %+v", name, res.Result, res.Checks)
		}
	}
}
