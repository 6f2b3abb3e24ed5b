package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Header names of Idempotency-Key handling (docs/idempotency.md).
const (
	idempotencyKeyHeader = "Idempotency-Key"
	replayedHeader       = "Idempotent-Replayed"
	maxIdempotencyKey    = 255
)

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
