package work

import (
	"context"
	"errors"
	"fmt"

	"github.com/credence-dev/credence/core/domain"
)

// Composer writes a deferred mail (Defer) to `to` at delivery, from the
// input its request recorded (JSON). It runs inside the transaction that
// settles the mail, so what it writes (the token of an emailed link)
// commits with the composed mail or not at all; an error is a failed
// attempt, retried with backoff like a failed send (ports.ErrPermanent:
// never retried).
type Composer func(ctx context.Context, to string, input []byte) (Composition, error)

// Composition is what a Composer makes of a deferred mail: a mail to send,
// or none.
type Composition struct {
	Kind    domain.MailKind // what the mail turned out to be; "" keeps the kind it was deferred as
	Subject string
	Text    string
	// Dropped, when not empty, says why there is nothing to send (e.g.
	// "no account"): the mail ends dropped, sent to nobody, its address
	// erased, and Kind, Subject and Text are ignored.
	Dropped string
}

// Compose registers how deferred mail of kind is written. Register every
// composer before the delivery handles tasks (where the app wires the
// services): core/work knows no use case, the services owning the mail
// kinds give their composers. A deferred mail of a kind without one fails
// its attempt, so that a replica that has one may take it.
func (m *Delivery) Compose(kind domain.MailKind, c Composer) {
	m.composers[kind] = c
}

// compose writes a claimed deferred mail: the composer's writes and the
// composed mail (sealed at rest, so a retry sends the same text) or its
// drop commit in one transaction. send is false when there is nothing
// left to send: dropped, or settled first by a concurrent attempt, which
// sends it.
func (m *Delivery) compose(ctx context.Context, mail domain.Mail) (_ domain.Mail, send bool, _ error) {
	composer, ok := m.composers[mail.Kind]
	if !ok {
		return mail, false, fmt.Errorf("no composer of deferred %s mail in this process", mail.Kind)
	}
	input, err := m.open(mail)
	if err != nil {
		return mail, false, err
	}
	var c Composition
	var settled error // the outbox's answer, told apart from the composer's errors
	err = m.store.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = composer(ctx, mail.To, []byte(input)); err != nil {
			return fmt.Errorf("compose %s mail %s: %w", mail.Kind, mail.ID, err)
		}
		if c.Dropped != "" {
			settled = m.store.Mails().Drop(ctx, mail.ID, "dropped: "+c.Dropped)
			return settled
		}
		if c.Kind == "" {
			c.Kind = mail.Kind
		}
		sealed, err := seal(m.cipher, c.Text)
		if err != nil {
			return err
		}
		settled = m.store.Mails().Compose(ctx, mail.ID, c.Kind, c.Subject, sealed, true)
		return settled
	})
	switch {
	case errors.Is(settled, domain.ErrInvalidState):
		return mail, false, nil
	case err != nil:
		return mail, false, err
	case c.Dropped != "":
		m.log.InfoContext(ctx, "deferred mail dropped", "mail", mail.ID, "kind", mail.Kind, "reason", c.Dropped)
		return mail, false, nil
	}
	mail.Kind, mail.Subject, mail.Text, mail.Sealed, mail.Deferred = c.Kind, c.Subject, c.Text, false, false
	return mail, true, nil
}
