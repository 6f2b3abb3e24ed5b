package work

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Relay hands mail to the queue once its transaction has committed.
type Relay interface {
	MailsQueued(ctx context.Context, ids ...string)
}

// Outbox writes mail with the change it tells about, in one transaction,
// sealed (its bodies carry sign-in links and codes), and relays it once
// that commits: mail is neither lost with a crash nor sent for a change
// rolled back.
type Outbox struct {
	store  MailStore
	cipher ports.KeyCipher
	relay  Relay
	clock  ports.Clock
}

// NewOutbox returns an outbox over store, sealing with cipher.
func NewOutbox(store MailStore, cipher ports.KeyCipher, relay Relay, clock ports.Clock) *Outbox {
	return &Outbox{store: store, cipher: cipher, relay: relay, clock: clock}
}

// Post queues one mail in the transaction at hand.
type Post func(kind domain.MailKind, to, subject, body string) error

// Defer queues, in the transaction at hand, a mail to `to` that the
// Composer registered for kind (Delivery.Compose) writes at delivery from
// input (encoded as JSON, sealed until then), or drops. A request that
// must not tell by its cost whether an address has an account defers its
// mail: it writes one row whatever the address, and the worker does what
// depends on the account.
type Defer func(kind domain.MailKind, to string, input any) error

// Within runs fn in a transaction; the mail fn posts is written in it and
// relayed after it commits.
func (o *Outbox) Within(ctx context.Context, fn func(ctx context.Context, post Post) error) error {
	return o.within(ctx, func(ctx context.Context, add func(domain.Mail) error) error {
		return fn(ctx, func(kind domain.MailKind, to, subject, body string) error {
			return add(domain.Mail{Kind: kind, To: to, Subject: subject, Text: body})
		})
	})
}

// WithinDeferred is Within for mail composed at delivery (Defer).
func (o *Outbox) WithinDeferred(ctx context.Context, fn func(ctx context.Context, later Defer) error) error {
	return o.within(ctx, func(ctx context.Context, add func(domain.Mail) error) error {
		return fn(ctx, func(kind domain.MailKind, to string, input any) error {
			js, err := json.Marshal(input)
			if err != nil {
				return fmt.Errorf("defer %s mail: %w", kind, err)
			}
			return add(domain.Mail{Kind: kind, To: to, Text: string(js), Deferred: true})
		})
	})
}

// within runs fn in a transaction, writing the mail it adds sealed and
// queued, and relays that mail after the transaction commits.
func (o *Outbox) within(ctx context.Context, fn func(ctx context.Context, add func(domain.Mail) error) error) error {
	var ids []string
	err := o.store.WithinTx(ctx, func(ctx context.Context) error {
		ids = ids[:0]
		now := domain.Truncate(o.clock.Now())
		return fn(ctx, func(m domain.Mail) error {
			sealed, err := seal(o.cipher, m.Text)
			if err != nil {
				return err
			}
			m.ID, m.Text, m.Sealed, m.Status, m.CreatedAt, m.NextAttempt = domain.NewID(), sealed, true, domain.MailQueued, now, now
			if err := o.store.Mails().Create(ctx, m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
			return nil
		})
	})
	if err == nil && len(ids) > 0 {
		o.relay.MailsQueued(context.WithoutCancel(ctx), ids...)
	}
	return err
}
