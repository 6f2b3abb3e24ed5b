package verifier_test

import (
	"os"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/verifier"
)

func TestNewForRefusesAnotherIssuersKeys(t *testing.T) {
	keys, err := os.ReadFile("testdata/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	const acme = "did:web:credentials.example.com:issuers:acme"
	if _, err := verifier.NewFor(keys, acme); err != nil {
		t.Fatalf("the issuer's own keys: %v", err)
	}
	if _, err := verifier.NewFor(keys, "did:web:credentials.example.com:issuers:globex"); err == nil || !strings.Contains(err.Error(), acme) {
		t.Fatalf("keys of %s accepted for another issuer: %v", acme, err)
	}
}

func TestDIDDocumentURL(t *testing.T) {
	for did, want := range map[string]string{
		"did:web:credentials.example.com:issuers:acme": "https://credentials.example.com/issuers/acme/did.json",
		"did:web:example.com":                          "https://example.com/.well-known/did.json",
		"did:web:localhost%3A8080:issuers:acme":        "https://localhost:8080/issuers/acme/did.json",
		"did:web:example.com:issuers:caf%C3%A9":        "https://example.com/issuers/caf%C3%A9/did.json",
	} {
		if got, err := verifier.DIDDocumentURL(did); err != nil || got != want {
			t.Errorf("DIDDocumentURL(%q) = %q, %v; want %q", did, got, err, want)
		}
	}
	for _, bad := range []string{"", "did:key:z6Mk", "did:web:", "did:web:a.example:..:x", "did:web:a.example::x", "did:web:a.example/x", "did:web:u@a.example", "did:web:a.example:%2F"} {
		if got, err := verifier.DIDDocumentURL(bad); err == nil {
			t.Errorf("DIDDocumentURL(%q) = %q, want an error", bad, got)
		}
	}
}
