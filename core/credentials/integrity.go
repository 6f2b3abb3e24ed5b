package credentials

import (
	"slices"
	"strings"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/statuslist"
)

// Difference is one field in which a stored record no longer matches the
// document its issuer signed: what was signed, and what the record says
// now. A tampered record is shown with the signed value beside it, so
// that whoever checks a credential sees what the issuer actually vouched
// for rather than the altered value alone.
type Difference struct {
	Field  string // the document field, e.g. "credentialSubject.name"
	Signed string // its value in the signed document ("" when absent)
	Record string // the value the stored record gives it ("" when absent)
}

// Differences compares a signed document with the stored record it must
// match and returns every field that differs, with both values. Seconds
// are the precision of the signed dates. The issuer's display name and URL
// may change after issuing; its identifier may not. The recipient's email
// appears only as the salted hash the document carries: the record's side
// is the hash of the stored email under the signed salt, with the email
// masked beside it.
func (u URLs) Differences(signed Document, c domain.Credential, org domain.Organization, badge domain.Badge) []Difference {
	salt := ""
	if len(signed.CredentialSubject.Identifier) == 1 {
		salt = signed.CredentialSubject.Identifier[0].Salt
	}
	want := u.buildDocument(c, org, badge, salt)
	var out []Difference
	check := func(field string, ok bool, signedValue, recordValue string) {
		if !ok {
			out = append(out, Difference{Field: field, Signed: signedValue, Record: recordValue})
		}
	}
	same := func(field, a, b string) { check(field, a == b, a, b) }
	list := func(field string, a, b []string) {
		check(field, slices.Equal(a, b), strings.Join(a, ", "), strings.Join(b, ", "))
	}
	same("id", signed.ID, want.ID)
	list("type", signed.Type, want.Type)
	same("issuer.id", signed.Issuer.ID, want.Issuer.ID)
	same("validFrom", signed.ValidFrom, want.ValidFrom)
	same("validUntil", signed.ValidUntil, want.ValidUntil)
	// Test credentials signed before they were marked carry the plain name.
	check("name", signed.Name == want.Name || c.Test && signed.Name == badge.Name, signed.Name, want.Name)
	same("credentialSubject.name", signed.CredentialSubject.Name, want.CredentialSubject.Name)
	ids, wantID := signed.CredentialSubject.Identifier, want.CredentialSubject.Identifier[0]
	signedID := ""
	if len(ids) == 1 {
		signedID = ids[0].IdentityHash
	} else if len(ids) > 1 {
		signedID = "several identifiers"
	}
	check("credentialSubject.identifier", len(ids) == 1 && ids[0] == wantID,
		signedID, wantID.IdentityHash+" (the hash of "+domain.MaskEmail(c.RecipientEmail)+")")
	sa, wa := signed.CredentialSubject.Achievement, want.CredentialSubject.Achievement
	same("achievement.id", sa.ID, wa.ID)
	same("achievement.name", sa.Name, wa.Name)
	same("achievement.description", sa.Description, wa.Description)
	same("achievement.criteria", sa.Criteria.Narrative, wa.Criteria.Narrative)
	signedImage := ""
	if sa.Image != nil {
		signedImage = sa.Image.ID
	}
	check("achievement.image", sa.Image != nil && *sa.Image == *wa.Image, signedImage, wa.Image.ID)
	list("achievement.tag", sa.Tag, wa.Tag)
	check("credentialStatus", slices.Equal(signed.CredentialStatus, want.CredentialStatus),
		statusText(signed.CredentialStatus), statusText(want.CredentialStatus))
	return out
}

// statusText shows credentialStatus entries as their list URL and index.
func statusText(entries []statuslist.Entry) string {
	parts := make([]string, len(entries))
	for i, e := range entries {
		parts[i] = e.StatusListCredential + " #" + e.StatusListIndex
	}
	return strings.Join(parts, ", ")
}

// Differences returns, for a verification of a stored credential whose
// signed document could be read, every field in which the record differs
// from what was signed (none when they match or there is nothing to
// compare).
func (s *Service) Differences(v Verification) []Difference {
	if v.Credential == nil || v.Document == nil {
		return nil
	}
	return s.urls.Differences(*v.Document, *v.Credential, v.Org, v.Badge)
}
