package credentials

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A tampered record is reported with what was signed beside what the
// record now says, field by field.
func TestDifferencesGiveSignedAndRecordValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*docFixture)
		want []Difference
	}{
		{name: "recipient name", edit: func(f *docFixture) { f.cred.RecipientName = "Eve Recipient" },
			want: []Difference{{Field: "credentialSubject.name", Signed: "Rae Recipient", Record: "Eve Recipient"}}},
		{name: "expiry removed", edit: func(f *docFixture) { f.cred.ExpiresAt = nil },
			want: []Difference{{Field: "validUntil", Signed: "2027-11-22T03:23:15Z", Record: ""}}},
		{name: "issued a day earlier", edit: func(f *docFixture) { f.cred.IssuedAt = f.cred.IssuedAt.AddDate(0, 0, -1) },
			want: []Difference{{Field: "validFrom", Signed: "2026-11-22T03:23:15Z", Record: "2026-11-21T03:23:15Z"}}},
		{name: "badge name", edit: func(f *docFixture) { f.badge.Name = "Go Novice" },
			want: []Difference{{Field: "name", Signed: "Go Expert", Record: "Go Novice"}, {Field: "achievement.name", Signed: "Go Expert", Record: "Go Novice"}}},
		{name: "criteria", edit: func(f *docFixture) { f.badge.Criteria = "Attended" },
			want: []Difference{{Field: "achievement.criteria", Signed: "Passed the exam", Record: "Attended"}}},
		{name: "image", edit: func(f *docFixture) { f.badge.ImageURL = "https://evil.example/go.png" },
			want: []Difference{{Field: "achievement.image", Signed: "https://acme.example/go.png", Record: "https://evil.example/go.png"}}},
		{name: "tags", edit: func(f *docFixture) { f.badge.Tags = []string{"go", "expert"} },
			want: []Difference{{Field: "achievement.tag", Signed: "", Record: "go, expert"}}},
	} {
		f := newDocFixture(t)
		signed := docSigned(t, f.build())
		tc.edit(&f)
		if got := f.urls.Differences(signed, f.cred, f.org, f.badge); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Differences = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// The email is never shown in clear: both sides are hashes, the record's
// side names the stored address masked.
func TestDifferencesOfTheEmailShowHashes(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	signed := docSigned(t, f.build())
	f.cred.RecipientEmail = "eve@example.com"
	got := f.urls.Differences(signed, f.cred, f.org, f.badge)
	if len(got) != 1 || got[0].Field != "credentialSubject.identifier" {
		t.Fatalf("Differences = %+v, want the identifier alone", got)
	}
	salt := signed.CredentialSubject.Identifier[0].Salt
	if got[0].Signed != IdentityHash("rae@example.com", salt) {
		t.Errorf("signed side %q, want the signed hash", got[0].Signed)
	}
	if !strings.HasPrefix(got[0].Record, IdentityHash("eve@example.com", salt)) || !strings.Contains(got[0].Record, "e***@example.com") ||
		strings.Contains(got[0].Record, "eve@") {
		t.Errorf("record side %q, want the record's hash and the masked email", got[0].Record)
	}
}

// The service reports differences only for a verification that read a
// signed document of a stored credential.
func TestServiceDifferencesNeedADocumentAndARecord(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	s := &Service{urls: f.urls}
	signed := docSigned(t, f.build())
	tampered := f.cred
	tampered.RecipientName = "Eve"
	tampered.IssuedAt = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	v := Verification{Credential: &tampered, Org: f.org, Badge: f.badge, Document: &signed}
	if got := s.Differences(v); len(got) != 2 {
		t.Errorf("Differences = %+v, want validFrom and credentialSubject.name", got)
	}
	v.Document = nil
	if got := s.Differences(v); got != nil {
		t.Errorf("without a document: %+v", got)
	}
	v.Document, v.Credential = &signed, nil
	if got := s.Differences(v); got != nil {
		t.Errorf("without a record: %+v", got)
	}
}
