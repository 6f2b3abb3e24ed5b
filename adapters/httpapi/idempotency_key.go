package httpapi

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/credence-dev/credence/core/domain"
)

// Whose key it is and what it was sent with: the key's checks, the scope
// of a caller's keys and the fingerprint of a request.

// scope is the scope of r's keys and the largest body read for it, from
// what authenticate found of its bearer token. A token that authenticates
// gets maxBody; a request without one, or with one that does not
// authenticate (expired, revoked, forged), gets maxAnonBody. A token that
// no longer authenticates gets a scope of its own, apart from the one it
// had while it did: a signed-out session replays none of its responses,
// while a public operation (sign-in, a code, a link) retried with a stale
// token still gets its first answer again. A failure to look the token up
// is an error: better no answer than a request run unguarded.
func (h *idempotency) scope(r *http.Request) (scope string, maxBody int64, err error) {
	scope = idempotencyScope(r)
	c := callerOf(r.Context())
	if !c.token {
		return scope, h.cfg.maxAnonBody, nil
	}
	_, authErr := c.who()
	switch {
	case authErr == nil:
		return scope, h.cfg.maxBody, nil
	case errors.Is(authErr, domain.ErrUnauthenticated):
		return "unauth:" + scope, h.cfg.maxAnonBody, nil
	default:
		return "", 0, fmt.Errorf("authenticate an Idempotency-Key request: %w", authErr)
	}
}

// validIdempotencyKey: 1 to 255 printable ASCII characters, taken verbatim
// (a quoted structured-field string keeps its quotes).
func validIdempotencyKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotencyScope names whose key it is: the holder of the Authorization
// header (hashed: the store keeps no credentials). Requests without one
// are nobody's: their keys are scoped by the request itself (requestHash),
// so a key is replayed only to the very same request and nobody can take
// a key another anonymous caller will use (with another request, it is
// simply another record): see anonymous.
func idempotencyScope(r *http.Request) string {
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 {
		return anonScope
	}
	sum := sha256.New()
	for _, a := range auth {
		writeField(sum, []byte(a))
	}
	return "auth:" + hex.EncodeToString(sum.Sum(nil))
}

// anonScope is the scope of requests without Authorization, before
// anonymous narrows it to the request.
const anonScope = "anon"

// anonymous narrows the anonymous scope to the request hashed as hash:
// short anonymous keys ("1", a counter) cannot be squatted, since another
// request with the same key is another record, not a key reused.
func anonymous(scope string, hash []byte) string {
	if scope != anonScope {
		return scope
	}
	return anonScope + ":" + hex.EncodeToString(hash)
}

// requestHash fingerprints what the request asks for: method, path, query,
// content type and body, byte for byte.
func requestHash(r *http.Request, body []byte) []byte {
	sum := sha256.New()
	for _, f := range []string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type")} {
		writeField(sum, []byte(f))
	}
	writeField(sum, body)
	return sum.Sum(nil)
}

// writeField writes b length-prefixed, so that fields cannot run together.
func writeField(w io.Writer, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	_, _ = w.Write(n[:])
	_, _ = w.Write(b)
}
