package verifier

import (
	"fmt"
	"net/url"
	"strings"
)

// NewFor is New for the issuer the caller expects: it refuses a key
// document whose keys belong to another DID. New believes the document it
// is given — a result of New says "signed by whoever published these
// keys" — so a program that takes key documents from anywhere but the
// issuer's own address should use NewFor (or compare Issuer itself), and
// fetch the document from the address the DID names (DIDDocumentURL).
func NewFor(published []byte, issuer string) (*Verifier, error) {
	v, err := New(published)
	if err != nil {
		return nil, err
	}
	if v.did != issuer {
		return nil, fmt.Errorf("the keys belong to %s, not to the expected issuer %s", v.did, issuer)
	}
	return v, nil
}

// DIDDocumentURL returns where a did:web DID's document is published, by
// the did:web method: did:web:example.com:issuers:acme is
// https://example.com/issuers/acme/did.json, and did:web:example.com is
// https://example.com/.well-known/did.json (a port is written %3A).
func DIDDocumentURL(did string) (string, error) {
	rest, ok := strings.CutPrefix(did, "did:web:")
	if !ok || rest == "" || strings.ContainsAny(rest, "/?#") {
		return "", fmt.Errorf("%q is not a did:web DID", did)
	}
	parts := strings.Split(rest, ":")
	host, err := url.PathUnescape(parts[0])
	if err != nil || host == "" || strings.ContainsAny(host, "/@") {
		return "", fmt.Errorf("%q is not a did:web DID: bad host", did)
	}
	path := "/.well-known"
	if len(parts) > 1 {
		segs := make([]string, 0, len(parts)-1)
		for _, p := range parts[1:] {
			seg, err := url.PathUnescape(p)
			if err != nil || seg == "" || seg == "." || seg == ".." || strings.Contains(seg, "/") {
				return "", fmt.Errorf("%q is not a did:web DID: bad path segment %q", did, p)
			}
			segs = append(segs, seg) // url.URL escapes Path
		}
		path = "/" + strings.Join(segs, "/")
	}
	u := url.URL{Scheme: "https", Host: host, Path: path + "/did.json"}
	if _, err := url.Parse(u.String()); err != nil {
		return "", fmt.Errorf("%q is not a did:web DID: %w", did, err)
	}
	return u.String(), nil
}
