package vcapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/credence-dev/credence/core/signing"
)

// BaseContext is the first @context of every VCDM 2.0 document.
const BaseContext = "https://www.w3.org/ns/credentials/v2"

// The media types of the enveloped credentials and presentations that
// are verified: a compact JWS, under the name VC-JOSE-COSE gives it
// (vc+jwt, vp+jwt), the names of its drafts (vc-ld+jwt, vc+ld+jwt), and
// plain application/jwt, which the W3C VCDM 2.0 test suite sends.
var (
	credentialMediaTypes   = []string{"application/vc+jwt", "application/vc-ld+jwt", "application/vc+ld+jwt", "application/jwt"}
	presentationMediaTypes = []string{"application/vp+jwt", "application/vp-ld+jwt", "application/vp+ld+jwt", "application/jwt"}
)

// maxDataURL bounds the data: URLs read: a JWS of signing.MaxJWSSize,
// percent-encoded throughout, and its media type.
const maxDataURL = 3*signing.MaxJWSSize + 256

// DataURL is a data: URL (RFC 2397) read: its media type, lower case and
// without parameters, and its data, decoded.
type DataURL struct {
	MediaType string
	Data      []byte
}

// ParseDataURL reads a data: URL: data:<type>/<subtype>[;attr=value]…
// [;base64],<data>, the data percent-decoded (and base64-decoded with
// ;base64). It also reads the form some clients send, with a semicolon
// where the comma belongs (data:application/vc+jwt;eyJ…), when the URL
// has no comma and the data no "=" (a compact JWS has neither). The
// media type is required; the URL is at most maxDataURL bytes.
func ParseDataURL(s string) (DataURL, error) {
	if len(s) > maxDataURL {
		return DataURL{}, fmt.Errorf("longer than %d bytes", maxDataURL)
	}
	rest, ok := cutPrefixFold(s, "data:")
	if !ok {
		return DataURL{}, errors.New("not a data: URL")
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		i := strings.LastIndexByte(rest, ';')
		if i < 0 || strings.Contains(rest[i+1:], "=") {
			return DataURL{}, errors.New("no comma between the media type and the data")
		}
		meta, data = rest[:i], rest[i+1:]
	}
	params := strings.Split(meta, ";")
	mediaType := strings.ToLower(params[0])
	if !validMediaType(mediaType) {
		return DataURL{}, errors.New("no media type (type/subtype) before the data")
	}
	isBase64 := false
	for i, p := range params[1:] {
		if strings.EqualFold(p, "base64") && i == len(params)-2 {
			isBase64 = true
			continue
		}
		attr, value, ok := strings.Cut(p, "=")
		if !ok || !isToken(attr) || value == "" {
			return DataURL{}, errors.New("a media type parameter that is not attribute=value")
		}
	}
	decoded, err := url.PathUnescape(data)
	if err != nil {
		return DataURL{}, errors.New("a percent sign that begins no escape in the data")
	}
	out := []byte(decoded)
	if isBase64 {
		if out, err = base64.StdEncoding.Strict().DecodeString(decoded); err != nil {
			return DataURL{}, errors.New("the data is not base64, as ;base64 says")
		}
	}
	if len(out) == 0 {
		return DataURL{}, errors.New("no data")
	}
	return DataURL{MediaType: mediaType, Data: out}, nil
}

// validMediaType reports whether s is type/subtype, both RFC 2045
// tokens.
func validMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && isToken(typ) && isToken(sub)
}

// isToken reports whether s is an RFC 2045 token: printable ASCII but
// space and tspecials.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// envelopeKind is what an envelope may carry: a credential or a
// presentation.
type envelopeKind struct {
	typ        string // EnvelopedVerifiableCredential or …Presentation
	mediaTypes []string
}

var (
	credentialEnvelope   = envelopeKind{typ: "EnvelopedVerifiableCredential", mediaTypes: credentialMediaTypes}
	presentationEnvelope = envelopeKind{typ: "EnvelopedVerifiablePresentation", mediaTypes: presentationMediaTypes}
)

// parseEnvelope reads an enveloped credential or presentation (VCDM 2.0
// §4.13): an object whose @context begins with the base context, whose
// type is kind's, and whose id is a data: URL of one of kind's media
// types carrying a compact JWS. It returns the JWS, or the problem (path
// names the envelope in the request).
func parseEnvelope(raw json.RawMessage, kind envelopeKind, path string) ([]byte, *Problem) {
	obj, ok := object(raw)
	if !ok {
		p := problem(MalformedValueError, "%s must be an object", path)
		return nil, &p
	}
	types, ok := stringValues(obj["type"])
	if !ok || !slices.Contains(types, kind.typ) {
		p := problem(MalformedValueError, "%s.type must be %s", path, kind.typ)
		return nil, &p
	}
	if p := checkContext(obj["@context"], path); p != nil {
		return nil, p
	}
	var id string
	if json.Unmarshal(obj["id"], &id) != nil || id == "" {
		p := problem(MalformedValueError, "%s.id must be a data: URL (data:%s,<compact JWS>)", path, kind.mediaTypes[0])
		return nil, &p
	}
	u, err := ParseDataURL(id)
	if err != nil {
		p := problem(MalformedValueError, "%s.id must be a data: URL (data:%s,<compact JWS>): %v", path, kind.mediaTypes[0], err)
		return nil, &p
	}
	if !slices.Contains(kind.mediaTypes, u.MediaType) {
		p := problem(Unsupported, "%s.id: the media type %s is not one verified here (%s)", path, u.MediaType, detailList(kind.mediaTypes))
		return nil, &p
	}
	if _, err := signing.ParseToken(u.Data); err != nil {
		p := problem(ParsingError, "%s.id: the data is not a compact JWS (header.payload.signature, base64url, at most 64 KiB)", path)
		return nil, &p
	}
	return bytes.TrimSpace(u.Data), nil
}

// checkContext requires an @context whose first (or only) value is the
// VCDM 2.0 base context.
func checkContext(raw json.RawMessage, path string) *Problem {
	contexts, ok := values(raw)
	var first string
	if ok && len(contexts) > 0 && json.Unmarshal(contexts[0], &first) == nil && first == BaseContext {
		return nil
	}
	p := problem(MalformedValueError, "%s.@context must begin with %s", path, BaseContext)
	return &p
}

// object decodes raw as a JSON object (members by exact name; null or
// anything else is not one).
func object(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	return m, true
}

// values decodes a JSON value that may be one value or an array of them
// (as @context, type and verifiableCredential are); absent or null is
// none (and ok).
func values(raw json.RawMessage) ([]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, true
	case raw[0] == '[':
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil, false
		}
		return list, true
	}
	return []json.RawMessage{raw}, true
}

// stringValues decodes a string or an array of strings (a type); absent
// is none.
func stringValues(raw json.RawMessage) ([]string, bool) {
	list, ok := values(raw)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}
