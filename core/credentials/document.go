package credentials

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/statuslist"
)

// The JSON-LD contexts of an Open Badges 3.0.3 credential (VCDM 2.0).
var documentContext = []string{
	"https://www.w3.org/ns/credentials/v2",
	"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
}

// Document is the signed payload: an OpenBadgeCredential, and the JWT
// claims that mirror it for verifiers that read a vc+jwt as a JWT (VC-JOSE-
// COSE allows them beside the credential's own members): iss is
// issuer.id, nbf validFrom and exp validUntil, in seconds. No jti: the
// credential's id names it. Credentials signed before the claims were
// added carry none of them (iss marks their presence), and verify as
// before.
type Document struct {
	Context           []string `json:"@context"`
	ID                string   `json:"id"`
	Type              []string `json:"type"`
	Issuer            Profile  `json:"issuer"`
	ValidFrom         string   `json:"validFrom"`
	ValidUntil        string   `json:"validUntil,omitempty"`
	Name              string   `json:"name"`
	CredentialSubject Subject  `json:"credentialSubject"`
	// CredentialStatus places the credential in its issuer's Bitstring
	// Status Lists: one entry per purpose (revocation, suspension).
	// Credentials issued before status lists carry none.
	CredentialStatus []statuslist.Entry `json:"credentialStatus,omitempty"`
	Iss              string             `json:"iss,omitempty"`
	Nbf              int64              `json:"nbf,omitempty"`
	Exp              int64              `json:"exp,omitempty"`
}

// Profile is the issuer as embedded in a credential.
type Profile struct {
	ID   string   `json:"id"`
	Type []string `json:"type"`
	Name string   `json:"name"`
	URL  string   `json:"url,omitempty"`
}

// Subject is the AchievementSubject: the recipient by name and hashed email.
type Subject struct {
	Type        []string         `json:"type"`
	Name        string           `json:"name"`
	Identifier  []IdentityObject `json:"identifier"`
	Achievement Achievement      `json:"achievement"`
}

// IdentityObject carries the recipient's email as a salted sha256 hash.
type IdentityObject struct {
	Type         string `json:"type"`
	IdentityType string `json:"identityType"`
	Hashed       bool   `json:"hashed"`
	IdentityHash string `json:"identityHash"`
	Salt         string `json:"salt"`
}

// Achievement is the badge as embedded in a credential.
type Achievement struct {
	ID          string   `json:"id"`
	Type        []string `json:"type"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Criteria    Criteria `json:"criteria"`
	Image       *Image   `json:"image,omitempty"`
	Tag         []string `json:"tag,omitempty"`
}

// Criteria says how the achievement is earned.
type Criteria struct {
	Narrative string `json:"narrative"`
}

// Image is the badge image.
type Image struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// URLs derives every public identifier from the public base URL.
type URLs struct {
	Base *url.URL
}

func (u URLs) join(path string) string {
	b := *u.Base
	b.Path = strings.TrimRight(b.Path, "/") + path
	b.RawPath = ""
	return b.String()
}

// Credential returns https://…/credentials/CRD-….
func (u URLs) Credential(id domain.CredentialID) string { return u.join("/credentials/" + string(id)) }

// Achievement returns https://…/achievements/<org>/<badge>.
func (u URLs) Achievement(orgSlug, badgeSlug string) string {
	return u.join("/achievements/" + orgSlug + "/" + badgeSlug)
}

// Issuer returns the issuer's profile URL https://…/issuers/<org>.
func (u URLs) Issuer(orgSlug string) string { return u.join("/issuers/" + orgSlug) }

// DID returns the issuer's did:web.
func (u URLs) DID(orgSlug string) string { return signing.IssuerDID(u.Base, orgSlug) }

// StatusList returns https://…/status-lists/<list>-<purpose>: where the
// list's status list credential of purpose is published.
func (u URLs) StatusList(list string, purpose statuslist.Purpose) string {
	return u.join("/status-lists/" + list + "-" + string(purpose))
}

// StatusEntries returns the credentialStatus entries of a credential
// placed at slot (none for nil).
func (u URLs) StatusEntries(slot *domain.StatusSlot) []statuslist.Entry {
	if slot == nil {
		return nil
	}
	out := make([]statuslist.Entry, len(statuslist.Purposes))
	for i, p := range statuslist.Purposes {
		out[i] = statuslist.NewEntry(u.StatusList(slot.List, p), p, slot.Index)
	}
	return out
}

// Verify returns the human verification page https://…/verify/CRD-….
func (u URLs) Verify(id domain.CredentialID) string { return u.join("/verify/" + string(id)) }

func newSalt() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// IdentityHash returns "sha256$" + hex(sha256(email + salt)).
func IdentityHash(email, salt string) string {
	sum := sha256.Sum256([]byte(email + salt))
	return "sha256$" + hex.EncodeToString(sum[:])
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// BuildDocument renders the credential document for c, with a fresh salt.
func (u URLs) BuildDocument(c domain.Credential, org domain.Organization, badge domain.Badge) Document {
	return u.buildDocument(c, org, badge, newSalt())
}

func (u URLs) buildDocument(c domain.Credential, org domain.Organization, badge domain.Badge, salt string) Document {
	d := Document{
		Context:   documentContext,
		ID:        u.Credential(c.ID),
		Type:      []string{"VerifiableCredential", "OpenBadgeCredential"},
		Issuer:    Profile{ID: u.DID(org.Slug), Type: []string{"Profile"}, Name: org.Name, URL: org.WebsiteURL},
		ValidFrom: rfc3339(c.IssuedAt),
		Name:      badge.Name,
		CredentialSubject: Subject{
			Type: []string{"AchievementSubject"},
			Name: c.RecipientName,
			Identifier: []IdentityObject{{
				Type: "IdentityObject", IdentityType: "emailAddress", Hashed: true,
				IdentityHash: IdentityHash(c.RecipientEmail, salt), Salt: salt,
			}},
			Achievement: Achievement{
				ID: u.Achievement(org.Slug, badge.Slug), Type: []string{"Achievement"},
				Name: badge.Name, Description: badge.Description,
				Criteria: Criteria{Narrative: badge.Criteria},
				Image:    &Image{ID: badge.ImageURL, Type: "Image"},
				Tag:      badge.Tags,
			},
		},
	}
	d.CredentialStatus = u.StatusEntries(c.Slot)
	d.Iss, d.Nbf = d.Issuer.ID, c.IssuedAt.Unix() // validFrom's second
	if c.ExpiresAt != nil {
		d.ValidUntil, d.Exp = rfc3339(*c.ExpiresAt), c.ExpiresAt.Unix()
	}
	if c.Test {
		// Outside verifiers know nothing of our test flag; the signed name
		// tells whoever displays the credential.
		d.Name = TestNamePrefix + badge.Name
	}
	return d
}

// TestNamePrefix starts the signed name of a test credential.
const TestNamePrefix = "TEST: "

// ParseDocument decodes a signed payload.
func ParseDocument(payload []byte) (Document, error) {
	var d Document
	if err := json.Unmarshal(payload, &d); err != nil {
		return Document{}, fmt.Errorf("payload is not a credential document: %w", err)
	}
	if key, ok := RepeatedMember(payload); ok {
		return Document{}, fmt.Errorf("payload is not a credential document: the member %q appears twice in one object (ignoring case)", key)
	}
	return d, nil
}

// repeatedMember finds a member name that appears twice in one object
// of a JSON document, compared ignoring case. Readers disagree on such
// a document: Go's encoding/json takes the last of "exp" and "Exp" for
// the same field, a JavaScript verifier the one spelled as it expects,
// so one signed payload could say two things. Credence never writes one.
func RepeatedMember(doc []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var seen []map[string]bool // the keys of each open object; nil for an array
	expectKey := func() bool { return len(seen) > 0 && seen[len(seen)-1] != nil }
	key := true // in an object, whether the next string is a key
	var keys []bool
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // the end, or what json.Unmarshal already refused
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				seen, keys = append(seen, map[string]bool{}), append(keys, key)
				key = true
				continue
			case '[':
				seen, keys = append(seen, nil), append(keys, key)
				continue
			default:
				seen, key, keys = seen[:len(seen)-1], keys[len(keys)-1], keys[:len(keys)-1]
			}
		case string:
			if expectKey() && key {
				folded := strings.ToLower(t)
				if seen[len(seen)-1][folded] {
					return t, true
				}
				seen[len(seen)-1][folded] = true
				key = false
				continue
			}
		}
		if expectKey() {
			key = true // a value ended: a key comes next
		}
	}
}

// Mismatches names every field in which a signed document and the stored
// record it must match differ (Differences has both values).
func (u URLs) Mismatches(signed Document, c domain.Credential, org domain.Organization, badge domain.Badge) []string {
	var out []string
	for _, d := range u.Differences(signed, c, org, badge) {
		out = append(out, d.Field)
	}
	return out
}

// ClaimMismatches names the JWT claims of d that do not say what the
// members they mirror say (iss: issuer.id, nbf: validFrom, exp:
// validUntil, compared as instants in seconds): a document that reads one
// way as a credential and another as a JWT contradicts itself. iss marks
// the claims' presence: a document with none of them (signed before they
// were added) has nothing to contradict, but nbf or exp without iss is
// named under iss.
func (d Document) ClaimMismatches() []string {
	if d.Iss == "" {
		if d.Nbf != 0 || d.Exp != 0 {
			return []string{"iss"}
		}
		return nil
	}
	var bad []string
	if d.Iss != d.Issuer.ID {
		bad = append(bad, "iss")
	}
	if from, err := time.Parse(time.RFC3339, d.ValidFrom); err != nil || d.Nbf != from.Unix() {
		bad = append(bad, "nbf")
	}
	switch until, err := time.Parse(time.RFC3339, d.ValidUntil); {
	case d.ValidUntil == "" && d.Exp != 0, d.ValidUntil != "" && (err != nil || d.Exp != until.Unix()):
		bad = append(bad, "exp")
	}
	return bad
}

// Claims is what a signed document says of itself, read by
// Document.Claims without the issuer's record.
type Claims struct {
	ID         domain.CredentialID
	URLs       URLs   // the public URLs of the platform that issued it
	IssuerDID  string // the issuer it names (issuer.id)
	OrgSlug    string // the issuer's slug on that platform
	ValidFrom  time.Time
	ValidUntil *time.Time // nil: it never expires
	Test       bool       // signed as a test credential (its name says so)
}

// Claims reads a signed document on its own, as a verifier holding only
// the issuer's published keys can, and names every field that is not as
// Credence writes it: an Open Badges 3.0 credential whose credential,
// issuer and achievement identifiers are those one platform gives one
// issuer (URLs), with RFC 3339 dates, validUntil after validFrom, and the
// recipient as one salted sha256 email hash. Whether the issuer is the one
// whose key signed is the caller's to check (Claims.IssuerDID).
func (d Document) Claims() (Claims, []string) {
	var out Claims
	var bad []string
	check := func(field string, ok bool) {
		if !ok {
			bad = append(bad, field)
		}
	}
	check("@context", len(d.Context) >= 2 && d.Context[0] == documentContext[0] &&
		slices.ContainsFunc(d.Context[1:], func(c string) bool {
			return strings.HasPrefix(c, "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0")
		}))
	check("type", slices.Equal(d.Type, []string{"VerifiableCredential", "OpenBadgeCredential"}))

	// The credential's URL gives the platform's base URL, and from it the
	// issuer's DID and the achievement's URL.
	base, id, ok := credentialURL(d.ID)
	check("id", ok)
	if ok {
		out.ID, out.URLs = id, URLs{Base: base}
		slug, found := strings.CutPrefix(d.Issuer.ID, out.URLs.DID(""))
		check("issuer.id", found && domain.ValidSlug(slug))
		if found && domain.ValidSlug(slug) {
			out.OrgSlug = slug
			badge, found := strings.CutPrefix(d.CredentialSubject.Achievement.ID, out.URLs.Achievement(slug, ""))
			check("achievement.id", found && domain.ValidSlug(badge))
		}
	}
	out.IssuerDID = d.Issuer.ID
	check("issuer.type", slices.Equal(d.Issuer.Type, []string{"Profile"}))
	check("issuer.name", d.Issuer.Name != "")

	from, err := time.Parse(time.RFC3339, d.ValidFrom)
	check("validFrom", err == nil)
	out.ValidFrom = from
	if d.ValidUntil != "" {
		until, err := time.Parse(time.RFC3339, d.ValidUntil)
		check("validUntil", err == nil && until.After(from))
		out.ValidUntil = &until
	}
	bad = append(bad, d.ClaimMismatches()...)
	check("name", d.Name != "")
	out.Test = strings.HasPrefix(d.Name, TestNamePrefix)

	s := d.CredentialSubject
	check("credentialSubject.type", slices.Equal(s.Type, []string{"AchievementSubject"}))
	check("credentialSubject.name", s.Name != "")
	check("credentialSubject.identifier", len(s.Identifier) == 1 && s.Identifier[0].Type == "IdentityObject" &&
		s.Identifier[0].IdentityType == "emailAddress" && s.Identifier[0].Hashed && s.Identifier[0].Salt != "" &&
		validHash(s.Identifier[0].IdentityHash))
	a := s.Achievement
	check("achievement.type", slices.Equal(a.Type, []string{"Achievement"}))
	check("achievement.name", a.Name != "")
	return out, bad
}

// credentialURL splits https://…/credentials/CRD-… into the base URL and
// the ID, when it is exactly what URLs.Credential writes.
func credentialURL(s string) (*url.URL, domain.CredentialID, bool) {
	i := strings.LastIndex(s, "/credentials/")
	if i < 0 {
		return nil, "", false
	}
	prefix, idStr := s[:i], s[i+len("/credentials/"):]
	id, err := domain.ParseCredentialID(idStr)
	if err != nil {
		return nil, "", false
	}
	base, err := url.Parse(prefix)
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, "", false
	}
	if (URLs{Base: base}).Credential(id) != s {
		return nil, "", false
	}
	return base, id, true
}

// validHash reports whether h is "sha256$" and 64 lowercase hex digits.
func validHash(h string) bool {
	hexPart, ok := strings.CutPrefix(h, "sha256$")
	if !ok || len(hexPart) != 64 {
		return false
	}
	_, err := hex.DecodeString(hexPart)
	return err == nil && strings.ToLower(hexPart) == hexPart
}
