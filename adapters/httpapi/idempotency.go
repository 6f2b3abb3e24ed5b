package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Header names of Idempotency-Key handling (docs/idempotency.md).
const (
	idempotencyKeyHeader = "Idempotency-Key"
	replayedHeader       = "Idempotent-Replayed"
	maxIdempotencyKey    = 255
)

// Names of the OpenAPI components declaring the headers.
const (
	idempotencyKeyParam = "IdempotencyKey"
	replayedHeaderName  = "IdempotentReplayed"
)

// documentIdempotency declares, on every POST operation of the document,
// the Idempotency-Key request header and the Idempotent-Replayed header of
// its responses. The wrapper handles them outside huma, so no operation
// declares them itself; call it once every operation is registered.
func documentIdempotency(oapi *huma.OpenAPI) {
	if oapi.Components == nil {
		oapi.Components = &huma.Components{}
	}
	if oapi.Components.Parameters == nil {
		oapi.Components.Parameters = map[string]*huma.Param{}
	}
	if oapi.Components.Headers == nil {
		oapi.Components.Headers = map[string]*huma.Header{}
	}
	minLen, maxLen := 1, maxIdempotencyKey
	cfg := defaultIdempotency
	oapi.Components.Parameters[idempotencyKeyParam] = &huma.Param{
		Name: idempotencyKeyHeader, In: "header",
		Description: fmt.Sprintf("Makes the request safe to retry (docs/idempotency.md). A retry with the same key and the same "+
			"request (method, path, query, Content-Type and body) within %s gets the first response again, with "+
			"`%s: true`, and runs nothing; the same key with another request gets 422 IDEMPOTENCY_KEY_REUSED; "+
			"a retry arriving while the first request runs waits for it up to %s, then gets 409 %s. Keys are "+
			"scoped by the Authorization header (without one, by the request itself: another request is another key): "+
			"use a fresh random value (a UUID) per operation and the same one for its retries. 5xx, 408, 429 and other "+
			"answers asking for a retry are not kept. Kept responses are stored sealed (encrypted).",
			humanDuration(cfg.ttl), replayedHeader, humanDuration(cfg.wait), codeIdempotencyInProgress),
		Schema:  &huma.Schema{Type: "string", MinLength: &minLen, MaxLength: &maxLen, Pattern: `^[\x20-\x7E]+$`},
		Example: "5f0c6a9e-8d0b-4b53-9a36-2a3c1e7d4f10",
	}
	oapi.Components.Headers[replayedHeaderName] = &huma.Header{
		Description: "`true` when this response is the stored response to an earlier request with the same Idempotency-Key, " +
			"sent again: the request did not run. Absent otherwise.",
		Schema: &huma.Schema{Type: "string", Enum: []any{"true"}},
	}
	for _, item := range oapi.Paths {
		op := item.Post
		if op == nil {
			continue
		}
		op.Parameters = append(op.Parameters[:len(op.Parameters):len(op.Parameters)],
			&huma.Param{Ref: "#/components/parameters/" + idempotencyKeyParam})
		for code, resp := range op.Responses {
			// A copy: huma may share a response between operations.
			r := *resp
			r.Headers = make(map[string]*huma.Header, len(resp.Headers)+1)
			for k, v := range resp.Headers {
				r.Headers[k] = v
			}
			r.Headers[replayedHeader] = &huma.Header{Ref: "#/components/headers/" + replayedHeaderName}
			op.Responses[code] = &r
		}
	}
}

// humanDuration writes d as "24 hours" or "30 seconds".
func humanDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return strconv.Itoa(int(d/time.Second)) + " seconds"
}

// codeIdempotencyInProgress answers a duplicate whose first request is
// still running after idempotencyConfig.wait.
const codeIdempotencyInProgress = "IDEMPOTENCY_IN_PROGRESS"

// idempotencyConfig sets the timings of Idempotency-Key handling.
type idempotencyConfig struct {
	// ttl is how long a response is replayed.
	ttl time.Duration
	// lease is how long a running request holds its key before a retry may
	// run the request again: longer than any request runs (the server's
	// write timeout is 60 s), short enough that a crash mid-request blocks
	// retries only briefly.
	lease time.Duration
	// wait is how long a duplicate waits for the running first request.
	wait time.Duration
	// sweepEvery: one claim in sweepEvery deletes the expired records.
	sweepEvery uint64
	// maxBody bounds the request bodies read for a caller whose token
	// authenticates (the largest any operation takes).
	maxBody int64
	// maxAnonBody bounds the bodies read for a caller without a valid
	// token, whose operations take at most huma's default 1 MiB: a stranger
	// cannot make the wrapper buffer maxBody before authentication refuses.
	maxAnonBody int64
}

var defaultIdempotency = idempotencyConfig{ttl: 24 * time.Hour, lease: 2 * time.Minute, wait: 30 * time.Second,
	sweepEvery: 500, maxBody: maxUploadBytes, maxAnonBody: 1 << 20}

// replayedHeaders are the response headers a replay repeats. The others
// describe the moment of the first response (Date, X-RateLimit-*) or are
// the server's to set (Content-Length).
var replayedHeaders = []string{"Content-Type", "Content-Disposition", "Content-Language", "Content-Security-Policy",
	"Referrer-Policy", "Location", "Link", "ETag", "Last-Modified", "Cache-Control", "Vary", "Retry-After"}

// transientCodes are problems a retry may well not meet: their responses
// are not stored, so a retry with the same key runs again.
var transientCodes = map[string]bool{
	string(domain.CodeRateLimited):     true,
	string(domain.CodeConcurrentIssue): true,
	string(domain.CodeAccountLocked):   true,
}

// idempotent makes POST requests carrying an Idempotency-Key safe to
// retry: the first request with a key runs next and its response is
// stored; a later one with the same key and request gets that response
// again (with Idempotent-Replayed: true), one with another request gets
// 422 IDEMPOTENCY_KEY_REUSED, and one arriving while the first runs waits
// for it. Responses a retry should not get again (5xx, 408, 429, any
// carrying Retry-After, transientCodes) are not stored: the key is given
// up so a retry runs afresh.
//
// Keys are scoped by the Authorization header, so one caller's keys never
// meet another's; anonymous requests are scoped by the request itself
// (see docs/idempotency.md). The wrapper runs after the per-address rate
// limit, the body cap and authenticate (edge.go), which tell it whether
// the bearer token authenticates (see scope), and before admit and the
// operation.
func idempotent(next http.Handler, d idempotencyDeps, cfg idempotencyConfig) http.Handler {
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if d.clock != nil {
		now = d.clock.Now
	}
	return &idempotency{idempotencyDeps: d, next: next, now: now, cfg: cfg, problems: problems{log: d.log}}
}

// idempotencyDeps are what idempotent works with.
type idempotencyDeps struct {
	store ports.Idempotency
	clock ports.Clock
	log   *slog.Logger
	// sealer encrypts the responses kept for replay: they may carry
	// secrets (session tokens from sign-in, API key secrets), which the
	// store must never hold in the clear.
	sealer ports.KeyCipher
}

type idempotency struct {
	idempotencyDeps
	next     http.Handler
	now      func() time.Time
	cfg      idempotencyConfig
	problems problems
	claims   atomic.Uint64
}

func (h *idempotency) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	keys := r.Header.Values(idempotencyKeyHeader)
	if r.Method != http.MethodPost || len(keys) == 0 {
		h.next.ServeHTTP(w, r)
		return
	}
	if len(keys) != 1 || !validIdempotencyKey(keys[0]) {
		writeProblem(w, &Problem{Status: http.StatusUnprocessableEntity, Code: string(domain.CodeValidation), Detail: "validation failed",
			Errors: []FieldProblem{{Location: "header." + idempotencyKeyHeader,
				Message: "send one Idempotency-Key of 1 to 255 printable ASCII characters (a UUID, say)", Value: keys}}})
		return
	}
	key := keys[0]
	scope, maxBody, err := h.scope(r)
	if err != nil {
		if r.Context().Err() == nil {
			h.problems.write(r.Context(), w, err)
		}
		return
	}
	if r.ContentLength > maxBody {
		// Too large for this caller: the API answers it (401 without a
		// valid token, 413 over the operation's own bound), unreplayed.
		h.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeProblem(w, &Problem{Status: http.StatusBadRequest, Code: codeOfStatus[http.StatusBadRequest], Detail: "could not read the request body"})
		return
	}
	if int64(len(body)) > maxBody {
		writeProblem(w, bodyTooLarge(maxBody))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	ctx := r.Context()
	hash := requestHash(r, body)
	claim := ports.IdempotencyClaim{Scope: anonymous(scope, hash), Key: key, Token: domain.NewID(), RequestHash: hash}
	deadline := time.Now().Add(h.cfg.wait)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 250*time.Millisecond) {
		claim.Now = domain.Truncate(h.now())
		claim.LeaseUntil, claim.ExpiresAt = claim.Now.Add(h.cfg.lease), claim.Now.Add(h.cfg.ttl)
		rec, started, err := h.store.Begin(ctx, claim)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				h.problems.write(ctx, w, err)
			}
			return
		case started:
			h.sweep(ctx, claim.Now)
			h.run(w, r, claim)
			return
		case !bytes.Equal(rec.RequestHash, claim.RequestHash):
			h.problems.write(ctx, w, domain.Errorf(domain.CodeIdempotencyKeyReused,
				"this Idempotency-Key was sent with another request; use a new key for a new request"))
			return
		case rec.Finished():
			resp, err := h.open(claim, *rec.Response)
			if err != nil {
				h.log.ErrorContext(ctx, "open a stored idempotent response", "err", err)
				writeProblem(w, &Problem{Status: http.StatusInternalServerError, Code: "INTERNAL",
					Detail: "the stored response to this Idempotency-Key cannot be read; it was logged"})
				return
			}
			replayResponse(w, &resp)
			return
		case time.Now().After(deadline):
			w.Header().Set("Retry-After", "1")
			writeProblem(w, &Problem{Status: http.StatusConflict, Code: codeIdempotencyInProgress,
				Detail: "a request with this Idempotency-Key is still running; retry shortly"})
			return
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

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
	switch {
	case !c.token:
		return scope, h.cfg.maxAnonBody, nil
	case c.authErr == nil:
		return scope, h.cfg.maxBody, nil
	case errors.Is(c.authErr, domain.ErrUnauthenticated):
		return "unauth:" + scope, h.cfg.maxAnonBody, nil
	default:
		return "", 0, fmt.Errorf("authenticate an Idempotency-Key request: %w", c.authErr)
	}
}

// run serves the request that claimed the key and stores its response, or
// gives the key up when the response is not to be replayed (or the
// handler panicked).
func (h *idempotency) run(w http.ResponseWriter, r *http.Request, c ports.IdempotencyClaim) {
	rec := &responseCopy{ResponseWriter: w}
	// The response is written already: storing it must not depend on the
	// client still listening.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	served := false
	defer func() {
		if !served { // a panic on its way up
			h.abandon(ctx, c)
		}
	}()
	h.next.ServeHTTP(rec, r)
	served = true
	resp := rec.response()
	if !storable(resp) {
		h.abandon(ctx, c)
		return
	}
	sealed, err := h.seal(c, resp)
	if err != nil {
		h.log.ErrorContext(ctx, "seal idempotent response", "err", err)
		h.abandon(ctx, c)
		return
	}
	if err := h.store.Complete(ctx, c.Scope, c.Key, c.Token, sealed); err != nil {
		h.log.ErrorContext(ctx, "store idempotent response", "err", err)
	}
}

// sealedResponse is the plaintext of a stored response: its headers and
// body, and the scope, key and request they answered, so that a record
// moved to another scope, key or request does not open there.
type sealedResponse struct {
	Scope       string              `json:"scope"`
	Key         string              `json:"key"`
	RequestHash []byte              `json:"request"`
	Header      map[string][]string `json:"header,omitempty"`
	Body        []byte              `json:"body,omitempty"`
}

// seal returns what the store keeps of resp, answering claim c: its
// status, and its headers and body encrypted with h.sealer.
func (h *idempotency) seal(c ports.IdempotencyClaim, resp ports.StoredResponse) (ports.StoredResponse, error) {
	plain, err := json.Marshal(sealedResponse{Scope: c.Scope, Key: c.Key, RequestHash: c.RequestHash, Header: resp.Header, Body: resp.Body})
	if err != nil {
		return ports.StoredResponse{}, err
	}
	box, err := h.sealer.Encrypt(plain)
	if err != nil {
		return ports.StoredResponse{}, err
	}
	return ports.StoredResponse{Status: resp.Status, Body: box}, nil
}

// open reverses seal for the request of claim c, which must be the one
// the response was sealed for.
func (h *idempotency) open(c ports.IdempotencyClaim, stored ports.StoredResponse) (ports.StoredResponse, error) {
	plain, err := h.sealer.Decrypt(stored.Body)
	if err != nil {
		return ports.StoredResponse{}, err
	}
	var s sealedResponse
	if err := json.Unmarshal(plain, &s); err != nil {
		return ports.StoredResponse{}, fmt.Errorf("decode sealed response: %w", err)
	}
	if s.Scope != c.Scope || s.Key != c.Key || !bytes.Equal(s.RequestHash, c.RequestHash) {
		return ports.StoredResponse{}, errors.New("the sealed response answered another request")
	}
	return ports.StoredResponse{Status: stored.Status, Header: s.Header, Body: s.Body}, nil
}

func (h *idempotency) abandon(ctx context.Context, c ports.IdempotencyClaim) {
	if err := h.store.Abandon(ctx, c.Scope, c.Key, c.Token); err != nil && !errors.Is(err, ports.ErrClaimLost) {
		h.log.ErrorContext(ctx, "give up idempotency key", "err", err)
	}
}

// sweep deletes the expired records on one claim in cfg.sweepEvery (the
// first of the process included): no background work to stop.
func (h *idempotency) sweep(ctx context.Context, now time.Time) {
	if (h.claims.Add(1)-1)%max(h.cfg.sweepEvery, 1) != 0 {
		return
	}
	n, err := h.store.DeleteExpired(ctx, now)
	if err != nil {
		h.log.WarnContext(ctx, "delete expired idempotency keys", "err", err)
		return
	}
	h.log.DebugContext(ctx, "deleted expired idempotency keys", "count", n)
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

// storable reports whether a retry should get resp again.
func storable(resp ports.StoredResponse) bool {
	switch {
	case resp.Status >= 500, resp.Status == http.StatusRequestTimeout, resp.Status == http.StatusTooManyRequests:
		return false
	case len(resp.Header["Retry-After"]) > 0:
		return false
	case resp.Status >= 400:
		ct := ""
		if v := resp.Header["Content-Type"]; len(v) > 0 {
			ct = v[0]
		}
		if mt, _, _ := mime.ParseMediaType(ct); mt == "application/problem+json" {
			var p struct {
				Code string `json:"code"`
			}
			if json.Unmarshal(resp.Body, &p) == nil && transientCodes[p.Code] {
				return false
			}
		}
	}
	return true
}

// replay writes a stored response again.
func replayResponse(w http.ResponseWriter, resp *ports.StoredResponse) {
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.Header().Set(replayedHeader, "true")
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

func bodyTooLarge(limit int64) *Problem {
	return &Problem{Status: http.StatusRequestEntityTooLarge, Code: codeOfStatus[http.StatusRequestEntityTooLarge],
		Detail: "the request body is larger than " + strconv.FormatInt(limit>>20, 10) + " MiB"}
}

// responseCopy passes a response through while keeping a copy of it.
type responseCopy struct {
	http.ResponseWriter
	status int
	header http.Header // the replayed headers, as sent
	body   bytes.Buffer
}

func (rec *responseCopy) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
		rec.header = http.Header{}
		for _, k := range replayedHeaders {
			if vs := rec.ResponseWriter.Header().Values(k); len(vs) > 0 {
				rec.header[k] = append([]string(nil), vs...)
			}
		}
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *responseCopy) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	rec.body.Write(b)
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rec *responseCopy) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Flush passes flushes through (streamed responses are still recorded).
func (rec *responseCopy) Flush() {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush() // a writer that cannot flush buffers
}

func (rec *responseCopy) response() ports.StoredResponse {
	if rec.status == 0 { // nothing written: net/http sends 200
		rec.WriteHeader(http.StatusOK)
	}
	resp := ports.StoredResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
	if len(resp.Header) == 0 {
		resp.Header = nil
	}
	return resp
}
