package credentials

import (
	"slices"
	"testing"
)

// A test credential says so in its signed name, for verifiers that know
// nothing of the test flag; a live one does not.
func TestBuildDocumentMarksTestCredentials(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	if got := f.build().Name; got != "Go Expert" {
		t.Errorf("live credential name = %q, want the badge name", got)
	}
	f.cred.Test = true
	d := f.build()
	if d.Name != "TEST: Go Expert" {
		t.Errorf("test credential name = %q, want %q", d.Name, "TEST: Go Expert")
	}
	if d.CredentialSubject.Achievement.Name != "Go Expert" {
		t.Errorf("achievement name = %q: the achievement is the badge's, unmarked", d.CredentialSubject.Achievement.Name)
	}
	if got := f.urls.Mismatches(docSigned(t, d), f.cred, f.org, f.badge); len(got) != 0 {
		t.Errorf("Mismatches = %v, want none", got)
	}
}

// Test credentials signed before the mark carry the plain name and still
// match their record; a live record never matches a marked name, nor a
// test record another name.
func TestMismatchesTestName(t *testing.T) {
	t.Parallel()
	f := newDocFixture(t)
	unmarked := docSigned(t, f.build())
	marked := unmarked
	marked.Name = TestNamePrefix + f.badge.Name

	live := f.cred
	if got := f.urls.Mismatches(marked, live, f.org, f.badge); !slices.Equal(got, []string{"name"}) {
		t.Errorf("live record, marked document: Mismatches = %v, want [name]", got)
	}
	test := f.cred
	test.Test = true
	if got := f.urls.Mismatches(unmarked, test, f.org, f.badge); len(got) != 0 {
		t.Errorf("test record, document signed before the mark: Mismatches = %v, want none", got)
	}
	other := unmarked
	other.Name = "Go Guru"
	if got := f.urls.Mismatches(other, test, f.org, f.badge); !slices.Equal(got, []string{"name"}) {
		t.Errorf("test record, tampered name: Mismatches = %v, want [name]", got)
	}
}
