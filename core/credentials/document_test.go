package credentials

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// docURLs returns the URLs of a public base URL.
func docURLs(t *testing.T, base string) URLs {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", base, err)
	}
	return URLs{Base: u}
}

// docFixture is the record behind the example in
// shared/reference/credential-example.md: issuer acme at
// https://localhost:8443, badge Go Expert, recipient Rae.
type docFixture struct {
	urls  URLs
	cred  domain.Credential
	org   domain.Organization
	badge domain.Badge
}

func newDocFixture(t *testing.T) docFixture {
	t.Helper()
	// Issued in another zone with sub-second precision: the document says
	// UTC, to the second.
	paris := time.FixedZone("CET", 3600)
	issued := time.Date(2026, 11, 22, 4, 23, 15, 123456000, paris)
	expires := time.Date(2027, 11, 22, 3, 23, 15, 999999000, time.UTC)
	return docFixture{
		urls: docURLs(t, "https://localhost:8443"),
		cred: domain.Credential{
			ID:             "CRD-ZBUYQMTA",
			OrgID:          "org-1",
			BadgeID:        "badge-1",
			RecipientName:  "Rae Recipient",
			RecipientEmail: "rae@example.com",
			IssuedAt:       issued,
			ExpiresAt:      &expires,
			KeyID:          "did:web:localhost%3A8443:issuers:acme#key-1",
		},
		org: domain.Organization{ID: "org-1", Name: "Acme Academy", Slug: "acme", WebsiteURL: "https://acme.example"},
		badge: domain.Badge{
			ID: "badge-1", OrgID: "org-1", Name: "Go Expert", Slug: "go-expert",
			Description: "Knows Go", Criteria: "Passed the exam",
			ImageURL: "https://acme.example/go.png", Tags: []string{},
		},
	}
}

func (f docFixture) build() Document { return f.urls.BuildDocument(f.cred, f.org, f.badge) }

// docJSON marshals d the way the signer does and decodes it generically.
func docJSON(t *testing.T, d Document) (raw []byte, m map[string]any) {
	t.Helper()
	raw, err := jsonMarshal(d)
	if err != nil {
		t.Fatalf("marshal document: %v", err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("document is not a JSON object: %v", err)
	}
	return raw, m
}

// docSigned is what a verifier reads back: the document after the JSON
// round trip of signing and parsing.
func docSigned(t *testing.T, d Document) Document {
	t.Helper()
	raw, _ := docJSON(t, d)
	out, err := ParseDocument(raw)
	if err != nil {
		t.Fatalf("ParseDocument: %v", err)
	}
	return out
}

// docExample is the payload of credential-example.md with the salt filled in.
func docExample(t *testing.T, salt string, withValidUntil bool) map[string]any {
	t.Helper()
	sum := sha256.Sum256([]byte("rae@example.com" + salt))
	example := `{
  "@context": ["https://www.w3.org/ns/credentials/v2",
               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
  "id": "https://localhost:8443/credentials/CRD-ZBUYQMTA",
  "type": ["VerifiableCredential", "OpenBadgeCredential"],
  "issuer": {"id": "did:web:localhost%3A8443:issuers:acme", "type": ["Profile"],
             "name": "Acme Academy", "url": "https://acme.example"},
  "validFrom": "2026-11-22T03:23:15Z",
  "validUntil": "2027-11-22T03:23:15Z",
  "iss": "did:web:localhost%3A8443:issuers:acme",
  "nbf": 1795317795,
  "exp": 1826853795,
  "name": "Go Expert",
  "credentialSubject": {
    "type": ["AchievementSubject"],
    "name": "Rae Recipient",
    "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
                    "identityHash": "sha256$` + hex.EncodeToString(sum[:]) + `", "salt": "` + salt + `"}],
    "achievement": {"id": "https://localhost:8443/achievements/acme/go-expert", "type": ["Achievement"],
                    "name": "Go Expert", "description": "Knows Go",
                    "criteria": {"narrative": "Passed the exam"},
                    "image": {"id": "https://acme.example/go.png", "type": "Image"}}
  }
}`
	var m map[string]any
	if err := json.Unmarshal([]byte(example), &m); err != nil {
		t.Fatal(err)
	}
	if !withValidUntil {
		delete(m, "validUntil")
		delete(m, "exp")
	}
	return m
}

func docSalt(t *testing.T, d Document) string {
	t.Helper()
	if len(d.CredentialSubject.Identifier) != 1 {
		t.Fatalf("document has %d identifiers, want 1", len(d.CredentialSubject.Identifier))
	}
	return d.CredentialSubject.Identifier[0].Salt
}

func docDiff(t *testing.T, got, want map[string]any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	t.Errorf("document =\n%s\nwant\n%s", g, w)
}

func TestBuildDocumentMatchesTheExample(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	d := f.build()
	_, got := docJSON(t, d)
	docDiff(t, got, docExample(t, docSalt(t, d), true))
}

func TestBuildDocumentWithoutExpiryHasNoValidUntil(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	f.cred.ExpiresAt = nil
	d := f.build()
	raw, got := docJSON(t, d)
	if _, ok := got["validUntil"]; ok {
		t.Errorf("validUntil present without an expiry: %s", raw)
	}
	docDiff(t, got, docExample(t, docSalt(t, d), false))
}

func TestBuildDocumentTags(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	f.badge.Tags = []string{"go", "backend"}
	_, got := docJSON(t, f.build())
	ach := got["credentialSubject"].(map[string]any)["achievement"].(map[string]any)
	if !reflect.DeepEqual(ach["tag"], []any{"go", "backend"}) {
		t.Errorf("achievement.tag = %v, want [go backend]", ach["tag"])
	}
	for _, tags := range [][]string{nil, {}} {
		f.badge.Tags = tags
		raw, got := docJSON(t, f.build())
		ach := got["credentialSubject"].(map[string]any)["achievement"].(map[string]any)
		if _, ok := ach["tag"]; ok {
			t.Errorf("tags %#v: achievement.tag present: %s", tags, raw)
		}
	}
}

// The JWT claims generic verifiers need mirror the credential: iss is
// issuer.id, nbf validFrom and exp validUntil (none without), in seconds;
// no other registered claim (no jti: the id names the credential), and
// the credential's own members first.
func TestBuildDocumentJWTClaims(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	d := f.build()
	raw, got := docJSON(t, d)
	for _, claim := range []string{"jti", "iat", "sub", "aud", "vc"} {
		if _, ok := got[claim]; ok {
			t.Errorf("top-level JWT claim %q present: %s", claim, raw)
		}
	}
	want := []string{"@context", "credentialSubject", "exp", "id", "iss", "issuer", "name", "nbf", "type", "validFrom", "validUntil"}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Errorf("top-level members = %v, want exactly %v", keys, want)
	}
	if d.Iss != d.Issuer.ID || time.Unix(d.Nbf, 0).UTC().Format(time.RFC3339) != d.ValidFrom ||
		time.Unix(d.Exp, 0).UTC().Format(time.RFC3339) != d.ValidUntil {
		t.Errorf("claims iss %q, nbf %d, exp %d do not mirror issuer.id %q, validFrom %s, validUntil %s",
			d.Iss, d.Nbf, d.Exp, d.Issuer.ID, d.ValidFrom, d.ValidUntil)
	}
	if _, bad := d.Claims(); len(bad) > 0 {
		t.Errorf("the document reads back with bad fields %v", bad)
	}
	// The contexts come first and in this order.
	if !strings.HasPrefix(string(raw), `{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],`) {
		t.Errorf("document does not open with the two contexts in order: %.120s", raw)
	}
}

// A document read on its own (the offline verifier) whose JWT claims say
// otherwise than its members names them; one signed before the claims,
// with none, reads as before.
func TestClaimsMirrorTheCredential(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Document)
		bad  string
	}{
		{"iss", func(d *Document) { d.Iss = "did:web:evil.example:issuers:acme" }, "iss"},
		{"nbf", func(d *Document) { d.Nbf++ }, "nbf"},
		{"exp", func(d *Document) { d.Exp += 60 }, "exp"},
		{"exp without validUntil", func(d *Document) { d.ValidUntil = "" }, "exp"},
		{"claims without iss", func(d *Document) { d.Iss = "" }, "iss"},
		{"exp removed", func(d *Document) { d.Exp = 0 }, "exp"},
		{"signed before the claims", func(d *Document) { d.Iss, d.Nbf, d.Exp = "", 0, 0 }, ""},
		// 1970-01-01T00:00:00Z is second 0, which the claim omits: the
		// instants are compared, not the claims' presence.
		{"issued at second 0", func(d *Document) { d.ValidFrom, d.Nbf = "1970-01-01T00:00:00Z", 0 }, ""},
	} {
		d := newDocFixture(t).build()
		tc.edit(&d)
		_, bad := d.Claims()
		if tc.bad == "" && len(bad) > 0 || tc.bad != "" && !slices.Equal(bad, []string{tc.bad}) {
			t.Errorf("%s: bad fields %v, want [%s]", tc.name, bad, tc.bad)
		}
	}
}

func TestBuildDocumentDatesAreUTCSeconds(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	d := f.build()
	if d.ValidFrom != "2026-11-22T03:23:15Z" {
		t.Errorf("validFrom = %q, want 2026-11-22T03:23:15Z", d.ValidFrom)
	}
	if d.ValidUntil != "2027-11-22T03:23:15Z" {
		t.Errorf("validUntil = %q, want 2027-11-22T03:23:15Z", d.ValidUntil)
	}
	re := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	for _, s := range []string{d.ValidFrom, d.ValidUntil} {
		if !re.MatchString(s) {
			t.Errorf("%q is not RFC 3339 seconds in UTC", s)
		}
	}
}

func TestBuildDocumentDoesNotEscapeHTMLInSignedBytes(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	f.badge.ImageURL = "https://acme.example/img?a=1&b=<2>"
	raw, _ := docJSON(t, f.build())
	if !strings.Contains(string(raw), `"https://acme.example/img?a=1&b=<2>"`) {
		t.Errorf("image URL not verbatim in the signed bytes: %s", raw)
	}
}

func TestBuildDocumentFreshSaltPerCall(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	seen := map[string]bool{}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for range 20 {
		d := f.build()
		salt := docSalt(t, d)
		if !hex32.MatchString(salt) {
			t.Fatalf("salt %q is not 16 random bytes in hex", salt)
		}
		if seen[salt] {
			t.Fatalf("salt %q reused", salt)
		}
		seen[salt] = true
		id := d.CredentialSubject.Identifier[0]
		if id.IdentityHash != IdentityHash("rae@example.com", salt) {
			t.Fatalf("identityHash %q does not hash the email with its salt", id.IdentityHash)
		}
		if strings.Contains(string(docMust(jsonMarshal(d))), "rae@example.com") {
			t.Fatal("the document carries the email in clear")
		}
	}
}

func docMust(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestIdentityHash(t *testing.T) {
	t.Parallel()
	// printf '%s' 'rae@example.com0123456789abcdef' | sha256sum
	const want = "sha256$65378c3670c8be46c24b3a96db2d22c4c8dfc540a61a1785ba5030ef6b52a4c5"
	if got := IdentityHash("rae@example.com", "0123456789abcdef"); got != want {
		t.Errorf("IdentityHash = %q, want %q", got, want)
	}
	// sha256 of the empty string.
	if got := IdentityHash("", ""); got != "sha256$e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("IdentityHash(\"\", \"\") = %q", got)
	}
	if IdentityHash("rae@example.com", "a") == IdentityHash("rae@example.com", "b") {
		t.Error("the salt does not change the hash")
	}
}

func TestURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base                                         string
		credential, achievement, issuer, verify, did string
	}{
		{
			base:        "https://example.com",
			credential:  "https://example.com/credentials/CRD-ZBUYQMTA",
			achievement: "https://example.com/achievements/acme/go-expert",
			issuer:      "https://example.com/issuers/acme",
			verify:      "https://example.com/verify/CRD-ZBUYQMTA",
			did:         "did:web:example.com:issuers:acme",
		},
		{
			base:        "https://localhost:8443",
			credential:  "https://localhost:8443/credentials/CRD-ZBUYQMTA",
			achievement: "https://localhost:8443/achievements/acme/go-expert",
			issuer:      "https://localhost:8443/issuers/acme",
			verify:      "https://localhost:8443/verify/CRD-ZBUYQMTA",
			did:         "did:web:localhost%3A8443:issuers:acme",
		},
		{
			base:        "https://example.com/base",
			credential:  "https://example.com/base/credentials/CRD-ZBUYQMTA",
			achievement: "https://example.com/base/achievements/acme/go-expert",
			issuer:      "https://example.com/base/issuers/acme",
			verify:      "https://example.com/base/verify/CRD-ZBUYQMTA",
			did:         "did:web:example.com:base:issuers:acme",
		},
		{
			base:        "http://localhost:8080/a/b",
			credential:  "http://localhost:8080/a/b/credentials/CRD-ZBUYQMTA",
			achievement: "http://localhost:8080/a/b/achievements/acme/go-expert",
			issuer:      "http://localhost:8080/a/b/issuers/acme",
			verify:      "http://localhost:8080/a/b/verify/CRD-ZBUYQMTA",
			did:         "did:web:localhost%3A8080:a:b:issuers:acme",
		},
	} {
		u := docURLs(t, tc.base)
		for _, c := range []struct{ name, got, want string }{
			{"Credential", u.Credential("CRD-ZBUYQMTA"), tc.credential},
			{"Achievement", u.Achievement("acme", "go-expert"), tc.achievement},
			{"Issuer", u.Issuer("acme"), tc.issuer},
			{"Verify", u.Verify("CRD-ZBUYQMTA"), tc.verify},
			{"DID", u.DID("acme"), tc.did},
		} {
			if c.got != c.want {
				t.Errorf("%s: %s = %q, want %q", tc.base, c.name, c.got, c.want)
			}
		}
		if u.Base.String() != tc.base {
			t.Errorf("%s: building URLs changed the base to %s", tc.base, u.Base)
		}
	}
}

// IssuerDID accepts a base with a trailing slash (did:web:example.com:base:…);
// the URL builders beside it should too.
func TestURLsTrailingSlashBase(t *testing.T) {
	t.Parallel()
	for base, clean := range map[string]string{
		"https://example.com/":      "https://example.com",
		"https://example.com/base/": "https://example.com/base",
	} {
		u, want := docURLs(t, base), docURLs(t, clean)
		for _, c := range []struct{ name, got, want string }{
			{"Credential", u.Credential("CRD-ZBUYQMTA"), want.Credential("CRD-ZBUYQMTA")},
			{"Achievement", u.Achievement("acme", "go-expert"), want.Achievement("acme", "go-expert")},
			{"Issuer", u.Issuer("acme"), want.Issuer("acme")},
			{"Verify", u.Verify("CRD-ZBUYQMTA"), want.Verify("CRD-ZBUYQMTA")},
			{"DID", u.DID("acme"), want.DID("acme")},
		} {
			if c.got != c.want {
				t.Errorf("%s: %s = %q, want %q", base, c.name, c.got, c.want)
			}
		}
	}
}

func TestBuildDocumentUnderABasePath(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	f.urls = docURLs(t, "https://example.com:8443/base")
	d := f.build()
	if d.ID != "https://example.com:8443/base/credentials/CRD-ZBUYQMTA" {
		t.Errorf("id = %q", d.ID)
	}
	if d.Issuer.ID != "did:web:example.com%3A8443:base:issuers:acme" {
		t.Errorf("issuer.id = %q", d.Issuer.ID)
	}
	if a := d.CredentialSubject.Achievement.ID; a != "https://example.com:8443/base/achievements/acme/go-expert" {
		t.Errorf("achievement.id = %q", a)
	}
}

func TestMismatchesNoneForTheSourceRecord(t *testing.T) {
	t.Parallel()
	for name, mod := range map[string]func(*docFixture){
		"as issued":      func(*docFixture) {},
		"no expiry":      func(f *docFixture) { f.cred.ExpiresAt = nil },
		"tags":           func(f *docFixture) { f.badge.Tags = []string{"go", "backend"} },
		"nil tags":       func(f *docFixture) { f.badge.Tags = nil },
		"base path":      func(f *docFixture) { f.urls = docURLs(t, "http://localhost:8080/x") },
		"unicode":        func(f *docFixture) { f.cred.RecipientName = "Zoë 漢字 <&>"; f.badge.Name = "Go ★" },
		"no website url": func(f *docFixture) { f.org.WebsiteURL = "" },
	} {
		f := newDocFixture(t)
		mod(&f)
		signed := docSigned(t, f.build())
		if got := f.urls.Mismatches(signed, f.cred, f.org, f.badge); len(got) != 0 {
			t.Errorf("%s: Mismatches = %v, want none", name, got)
		}
		// The record as read back from the store: truncated to µs, in UTC.
		c := f.cred
		c.IssuedAt = c.IssuedAt.UTC().Truncate(time.Microsecond)
		if got := f.urls.Mismatches(signed, c, f.org, f.badge); len(got) != 0 {
			t.Errorf("%s: Mismatches after a store round trip = %v, want none", name, got)
		}
	}
}

func TestMismatchesNamesEachTamperedField(t *testing.T) {
	t.Parallel()
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	for _, tc := range []struct {
		name string
		from func(*docFixture) // the record the document was signed from
		edit func(*docFixture) // the record as it now stands
		want []string
	}{
		{name: "recipient name", edit: func(f *docFixture) { f.cred.RecipientName = "Eve Recipient" }, want: []string{"credentialSubject.name"}},
		{name: "recipient name case", edit: func(f *docFixture) { f.cred.RecipientName = "rae recipient" }, want: []string{"credentialSubject.name"}},
		{name: "email", edit: func(f *docFixture) { f.cred.RecipientEmail = "eve@example.com" }, want: []string{"credentialSubject.identifier"}},
		{name: "issuedAt", edit: func(f *docFixture) { f.cred.IssuedAt = f.cred.IssuedAt.Add(time.Second) }, want: []string{"validFrom"}},
		{name: "issuedAt a day", edit: func(f *docFixture) { f.cred.IssuedAt = f.cred.IssuedAt.AddDate(0, 0, -1) }, want: []string{"validFrom"}},
		{name: "expiresAt added", from: func(f *docFixture) { f.cred.ExpiresAt = nil }, edit: func(f *docFixture) { f.cred.ExpiresAt = at("2027-11-22T03:23:15Z") }, want: []string{"validUntil"}},
		{name: "expiresAt removed", edit: func(f *docFixture) { f.cred.ExpiresAt = nil }, want: []string{"validUntil"}},
		{name: "expiresAt changed", edit: func(f *docFixture) { f.cred.ExpiresAt = at("2028-11-22T03:23:15Z") }, want: []string{"validUntil"}},
		{name: "expiresAt a second", edit: func(f *docFixture) { f.cred.ExpiresAt = at("2027-11-22T03:23:16Z") }, want: []string{"validUntil"}},
		{name: "badge name", edit: func(f *docFixture) { f.badge.Name = "Go Novice" }, want: []string{"name", "achievement.name"}},
		{name: "badge description", edit: func(f *docFixture) { f.badge.Description = "Knows Rust" }, want: []string{"achievement.description"}},
		{name: "badge criteria", edit: func(f *docFixture) { f.badge.Criteria = "Attended" }, want: []string{"achievement.criteria"}},
		{name: "badge image", edit: func(f *docFixture) { f.badge.ImageURL = "https://evil.example/go.png" }, want: []string{"achievement.image"}},
		{name: "badge tags added", edit: func(f *docFixture) { f.badge.Tags = []string{"go"} }, want: []string{"achievement.tag"}},
		{name: "badge tags removed", from: func(f *docFixture) { f.badge.Tags = []string{"go"} }, edit: func(f *docFixture) { f.badge.Tags = nil }, want: []string{"achievement.tag"}},
		{name: "badge tags reordered", from: func(f *docFixture) { f.badge.Tags = []string{"a", "b"} }, edit: func(f *docFixture) { f.badge.Tags = []string{"b", "a"} }, want: []string{"achievement.tag"}},
		{name: "badge slug", edit: func(f *docFixture) { f.badge.Slug = "go-novice" }, want: []string{"achievement.id"}},
		{name: "credential ID", edit: func(f *docFixture) { f.cred.ID = "CRD-AAAAAAAA" }, want: []string{"id"}},
		{name: "issuer slug", edit: func(f *docFixture) { f.org.Slug = "evil" }, want: []string{"issuer.id", "achievement.id"}},
		{name: "public URL", edit: func(f *docFixture) { f.urls = docURLs(t, "https://evil.example") }, want: []string{"id", "issuer.id", "achievement.id"}},
	} {
		f := newDocFixture(t)
		if tc.from != nil {
			tc.from(&f)
		}
		signed := docSigned(t, f.build())
		if tc.edit != nil {
			tc.edit(&f)
		}
		got := f.urls.Mismatches(signed, f.cred, f.org, f.badge)
		if !docEqualSet(got, tc.want) {
			t.Errorf("%s: Mismatches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMismatchesNamesEachTamperedSignedField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Document)
		want []string
	}{
		{"id", func(d *Document) { d.ID += "X" }, []string{"id"}},
		{"type", func(d *Document) { d.Type = []string{"VerifiableCredential"} }, []string{"type"}},
		// The record is compared with the credential's members; whether
		// the JWT claims mirror them is the document's own consistency
		// (Document.ClaimMismatches), told apart.
		{"issuer DID", func(d *Document) { d.Issuer.ID = "did:web:evil.example:issuers:acme" }, []string{"issuer.id"}},
		{"validFrom", func(d *Document) { d.ValidFrom = "2020-01-01T00:00:00Z" }, []string{"validFrom"}},
		{"validUntil removed", func(d *Document) { d.ValidUntil = "" }, []string{"validUntil"}},
		{"validUntil extended", func(d *Document) { d.ValidUntil = "2099-11-22T03:23:15Z" }, []string{"validUntil"}},
		{"claims", func(d *Document) { d.Iss, d.Nbf, d.Exp = "did:web:evil.example:issuers:acme", 1, 2 }, nil},
		{"name", func(d *Document) { d.Name = "Go Guru" }, []string{"name"}},
		{"recipient name", func(d *Document) { d.CredentialSubject.Name = "Eve" }, []string{"credentialSubject.name"}},
		{"identity hash", func(d *Document) {
			d.CredentialSubject.Identifier[0].IdentityHash = IdentityHash("eve@example.com", d.CredentialSubject.Identifier[0].Salt)
		}, []string{"credentialSubject.identifier"}},
		{"identity not hashed", func(d *Document) { d.CredentialSubject.Identifier[0].Hashed = false }, []string{"credentialSubject.identifier"}},
		{"no identifier", func(d *Document) { d.CredentialSubject.Identifier = nil }, []string{"credentialSubject.identifier"}},
		{"two identifiers", func(d *Document) {
			d.CredentialSubject.Identifier = append(d.CredentialSubject.Identifier, d.CredentialSubject.Identifier[0])
		}, []string{"credentialSubject.identifier"}},
		{"achievement id", func(d *Document) { d.CredentialSubject.Achievement.ID += "x" }, []string{"achievement.id"}},
		{"achievement name", func(d *Document) { d.CredentialSubject.Achievement.Name = "Go Guru" }, []string{"achievement.name"}},
		{"achievement description", func(d *Document) { d.CredentialSubject.Achievement.Description = "x" }, []string{"achievement.description"}},
		{"achievement criteria", func(d *Document) { d.CredentialSubject.Achievement.Criteria.Narrative = "x" }, []string{"achievement.criteria"}},
		{"achievement image removed", func(d *Document) { d.CredentialSubject.Achievement.Image = nil }, []string{"achievement.image"}},
		{"achievement image type", func(d *Document) { d.CredentialSubject.Achievement.Image.Type = "Video" }, []string{"achievement.image"}},
		{"achievement tag", func(d *Document) { d.CredentialSubject.Achievement.Tag = []string{"x"} }, []string{"achievement.tag"}},
	} {
		f := newDocFixture(t)
		d := f.build()
		tc.edit(&d)
		got := f.urls.Mismatches(docSigned(t, d), f.cred, f.org, f.badge)
		if !docEqualSet(got, tc.want) {
			t.Errorf("%s: Mismatches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The issuer's display name and URL may change after issuing.
func TestMismatchesIgnoresIssuerDisplayChanges(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*docFixture){
		"name":        func(f *docFixture) { f.org.Name = "Acme University" },
		"url":         func(f *docFixture) { f.org.WebsiteURL = "https://acme.example/new" },
		"url removed": func(f *docFixture) { f.org.WebsiteURL = "" },
		"both":        func(f *docFixture) { f.org.Name, f.org.WebsiteURL = "Other", "https://other.example" },
		"description": func(f *docFixture) { f.org.Description = "now with a description" },
	} {
		f := newDocFixture(t)
		signed := docSigned(t, f.build())
		edit(&f)
		if got := f.urls.Mismatches(signed, f.cred, f.org, f.badge); len(got) != 0 {
			t.Errorf("issuer %s changed: Mismatches = %v, want none", name, got)
		}
	}
	// Nor does the signed copy's display data count.
	f := newDocFixture(t)
	d := f.build()
	d.Issuer.Name, d.Issuer.URL = "Someone Else", "https://else.example"
	if got := f.urls.Mismatches(docSigned(t, d), f.cred, f.org, f.badge); len(got) != 0 {
		t.Errorf("signed issuer display changed: Mismatches = %v, want none", got)
	}
}

// Seconds are the precision of the signed dates.
func TestMismatchesIgnoresSubSecondDifferences(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	signed := docSigned(t, f.build())
	c := f.cred
	c.IssuedAt = c.IssuedAt.Truncate(time.Second)
	e := c.ExpiresAt.Truncate(time.Second)
	c.ExpiresAt = &e
	if got := f.urls.Mismatches(signed, c, f.org, f.badge); len(got) != 0 {
		t.Errorf("Mismatches = %v, want none", got)
	}
}

func TestParseDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	f.badge.Tags = []string{"go"}
	d := f.build()
	if got := docSigned(t, d); !reflect.DeepEqual(got, d) {
		t.Errorf("ParseDocument(marshal(d)) =\n%+v\nwant\n%+v", got, d)
	}
	for _, bad := range []string{"", "null x", "[]", `{"id":1}`, "not json"} {
		if _, err := ParseDocument([]byte(bad)); err == nil {
			t.Errorf("ParseDocument(%q) succeeded", bad)
		}
	}
}

func docEqualSet(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// A credential signed before the JWT claims were added (none of them)
// still matches its record.
func TestMismatchesNoneWithoutTheJWTClaims(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	d := f.build()
	d.Iss, d.Nbf, d.Exp = "", 0, 0
	if got := f.urls.Mismatches(docSigned(t, d), f.cred, f.org, f.badge); len(got) > 0 {
		t.Errorf("Mismatches = %v, want none", got)
	}
}

// A payload naming one member twice in an object, ignoring case, is no
// credential document: readers disagree on which one counts.
func TestParseDocumentRefusesRepeatedMembers(t *testing.T) {
	t.Parallel()
	for doc, repeated := range map[string]bool{
		`{"exp":1,"Exp":2}`:                               true,
		`{"name":"a","name":"b"}`:                         true,
		`{"a":{"x":1,"X":2}}`:                             true,
		`{"a":{"b":1},"A":2}`:                             true,
		`{"a":[{"x":1},{"X":2}],"b":"a","c":["a","a"]}`:   false,
		`{"a":{"a":{"a":1}},"b":[[{"b":1}]]}`:             false,
		`{"iss":"x","nbf":1,"exp":2,"issuer":{"id":"x"}}`: false,
	} {
		if key, got := RepeatedMember([]byte(doc)); got != repeated {
			t.Errorf("%s: repeated %v (%q), want %v", doc, got, key, repeated)
		}
	}
	d := newDocFixture(t).build()
	raw, _ := docJSON(t, d)
	if _, err := ParseDocument(raw); err != nil {
		t.Fatalf("a built document: %v", err)
	}
	twice := strings.Replace(string(raw), `"exp":`, `"Exp":4102444800,"exp":`, 1)
	if _, err := ParseDocument([]byte(twice)); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Errorf("exp and Exp: %v, want refused", err)
	}
}

// Any payload: ParseDocument answers without panicking, and never
// accepts one in which repeatedMember finds a member twice.
func FuzzParseDocument(f *testing.F) {
	f.Add([]byte(`{"exp":1,"Exp":2}`))
	f.Add([]byte(`{"a":[{"x":1},{"X":2}],"b":{"c":{"d":[1,"e",{"f":null}]}}}`))
	f.Add([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"x","iss":"y","nbf":1}`))
	f.Add([]byte(`{"name":"a","credentialSubject":{"name":"b","NAME":"c"}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		_, err := ParseDocument(payload)
		if key, repeated := RepeatedMember(payload); repeated && err == nil {
			t.Errorf("member %q repeated, and the payload accepted", key)
		}
	})
}
