package ports

import (
	"context"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// Mails persists outgoing mail until it is delivered: the mail outbox.
// Mails are written in the transaction of the change they tell about and
// relayed to the queue after it commits; a sweep relays the ones whose
// relay was lost.
type Mails interface {
	// Create inserts queued mails. A second mail of the same kind about the
	// same credential (issued, renewed) is not inserted.
	Create(ctx context.Context, mails ...domain.Mail) error
	Get(ctx context.Context, id string) (domain.Mail, error)
	// Due returns up to limit mails due for an attempt (queued with
	// NextAttempt <= now, or sending with a lease that ended: its sender
	// died, and it is queued again), moving their NextAttempt to
	// leaseUntil so that no other sweep takes them meanwhile.
	Due(ctx context.Context, now, leaseUntil time.Time, limit int) ([]string, error)
	// Claim starts an attempt at each of the mails that is queued or
	// sending with an ended lease: sending, one more attempt, leased until
	// leaseUntil; it returns those, in no particular order. Mails sent,
	// failed or being sent are left out: of concurrent claimers of a mail
	// one gets it.
	Claim(ctx context.Context, ids []string, now, leaseUntil time.Time) ([]domain.Mail, error)
	// Sent marks mails delivered.
	Sent(ctx context.Context, ids []string, at time.Time) error
	// Retry records a failed attempt: queued again, due at next.
	Retry(ctx context.Context, id, errMsg string, next time.Time) error
	// Fail records the last failed attempt: failed for good.
	Fail(ctx context.Context, id, errMsg string) error
	// Compose writes what a deferred mail turned out to be (kind,
	// subject, text, sealed or not) and makes it an ordinary mail, keeping
	// its status, attempts and lease; Drop ends a deferred mail dropped,
	// with reason as its last error, never to be attempted again, its
	// address and text erased (an address without an account is not
	// kept). Either changes only a mail still deferred: else it returns an
	// error matching domain.ErrInvalidState (a concurrent attempt composed
	// it first); an unknown mail is ErrNotFound.
	Compose(ctx context.Context, id string, kind domain.MailKind, subject, text string, sealed bool) error
	Drop(ctx context.Context, id, reason string) error
	// Latest returns the newest mail about the credential; ErrNotFound
	// when none was ever created.
	Latest(ctx context.Context, credentialID domain.CredentialID) (domain.Mail, error)
}

// Events records what happened, for webhooks to deliver.
type Events interface {
	// Record stores events (joining the caller's transaction).
	Record(ctx context.Context, es ...domain.Event) error
	// List returns the organization's events, oldest first, after the cursor.
	List(ctx context.Context, orgID string, page Page) ([]domain.Event, error)
}
