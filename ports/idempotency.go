package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// Idempotency remembers the responses to requests sent with an
// Idempotency-Key, so that a retry replays the first response instead of
// acting twice. A record is named by a scope (whose key it is: a caller)
// and the key. It is first an unfinished claim, held by the token of the
// request running it until the claim's lease ends, then a finished record
// holding the response until it expires.
//
// Contract (checked by contract-tests/store):
//   - Begin claims a free key: no record, an expired one (ExpiresAt <= Now)
//     or an unfinished one whose lease ended (LeaseUntil <= Now). It returns
//     the new record and started = true. Otherwise it changes nothing and
//     returns the record holding the key with started = false.
//   - Begin is atomic: of concurrent Begins of one free key exactly one
//     starts; the others get its record.
//   - Complete stores the response, ending the claim, and Abandon deletes
//     the unfinished record, when token holds the claim; otherwise (the claim
//     was abandoned, taken over or finished) they return an error matching
//     ErrClaimLost and change nothing.
//   - DeleteExpired deletes the records with ExpiresAt <= before, finished or
//     not, and returns how many.
//   - Begin, Complete and Abandon work outside any transaction; inside one
//     they join it.
type Idempotency interface {
	Begin(ctx context.Context, c IdempotencyClaim) (rec IdempotencyRecord, started bool, err error)
	Complete(ctx context.Context, scope, key, token string, r StoredResponse) error
	Abandon(ctx context.Context, scope, key, token string) error
	DeleteExpired(ctx context.Context, before time.Time) (int, error)
}

// IdempotencyClaim is what Begin claims a key with.
type IdempotencyClaim struct {
	Scope, Key string
	// Token names this claim; Complete and Abandon must show it.
	Token string
	// RequestHash fingerprints the request, so a retry can tell whether it
	// is the same request.
	RequestHash []byte
	// Now is when the claim is made (CreatedAt of a new record).
	Now time.Time
	// LeaseUntil is when an unfinished claim may be taken over: the holder
	// is presumed dead (a crashed process never completes or abandons).
	LeaseUntil time.Time
	// ExpiresAt is when the record, finished or not, may be forgotten.
	ExpiresAt time.Time
}

// IdempotencyRecord is a stored claim, finished when Response is not nil.
type IdempotencyRecord struct {
	Scope, Key  string
	Token       string
	RequestHash []byte
	CreatedAt   time.Time
	LeaseUntil  time.Time
	ExpiresAt   time.Time
	Response    *StoredResponse
}

// Finished reports whether the record holds a response.
func (r IdempotencyRecord) Finished() bool { return r.Response != nil }

// StoredResponse is the response a finished record replays.
type StoredResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
}

// ErrClaimLost is returned by Idempotency.Complete and Abandon when the
// token no longer holds the claim.
var ErrClaimLost = &domain.Error{Code: "CLAIM_LOST", Detail: "the idempotency key is no longer held by this request"}
