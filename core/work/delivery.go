package work

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Delivery sends queued mail, composing deferred mail first (Compose).
type Delivery struct {
	store     MailStore
	mailer    ports.Mailer
	cipher    ports.KeyCipher
	clock     ports.Clock
	log       *slog.Logger
	opts      Options
	composers map[domain.MailKind]Composer
}

// NewDelivery returns the mail task handler; cipher opens sealed mail.
func NewDelivery(store MailStore, mailer ports.Mailer, cipher ports.KeyCipher, clock ports.Clock, log *slog.Logger, opts Options) *Delivery {
	return &Delivery{store: store, mailer: mailer, cipher: cipher, clock: clock, log: log, opts: opts.withDefaults(),
		composers: map[domain.MailKind]Composer{}}
}

// seal encrypts a mail body under cipher for the outbox (domain.Mail.Sealed).
func seal(cipher ports.KeyCipher, body string) (string, error) {
	sealed, err := cipher.Encrypt([]byte(body))
	if err != nil {
		return "", fmt.Errorf("seal mail: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// open returns the body of mail, decrypting a sealed one.
func (m *Delivery) open(mail domain.Mail) (string, error) {
	if !mail.Sealed {
		return mail.Text, nil
	}
	raw, err := base64.StdEncoding.DecodeString(mail.Text)
	if err == nil {
		var body []byte
		if body, err = m.cipher.Decrypt(raw); err == nil {
			return string(body), nil
		}
	}
	return "", fmt.Errorf("open sealed mail (was the master key changed?): %w: %w", ports.ErrPermanent, err)
}

// Handle attempts the task's mails. Each is claimed first, so a mail sent
// or being sent elsewhere is left alone: a repeated task sends nothing
// twice. A failed attempt is logged and scheduled again with backoff
// until the attempts run out; only store failures fail the task.
func (m *Delivery) Handle(ctx context.Context, t ports.Task) error {
	var task MailTask
	if err := json.Unmarshal(t.Payload, &task); err != nil {
		return fmt.Errorf("mail task: %w: %w", ports.ErrPermanent, err)
	}
	return m.Deliver(ctx, task.IDs...)
}

// sentBatch bounds how many sent mails are marked at once. A worker killed
// between sending mails and marking them sent leaves them to be sent again
// once their lease ends: at most this many, and only then.
const sentBatch = 20

// Deliver attempts the mails now, in the caller's goroutine: it claims
// them in one statement (so a mail sent or being sent elsewhere is left
// alone), composes the deferred ones, sends each, and marks the sent ones
// in small groups.
func (m *Delivery) Deliver(ctx context.Context, ids ...string) error {
	now := m.clock.Now()
	mails, err := m.store.Mails().Claim(ctx, ids, now, now.Add(m.opts.MailLease))
	if err != nil {
		return err
	}
	var sent []string
	flush := func() error {
		err := m.store.Mails().Sent(context.WithoutCancel(ctx), sent, m.clock.Now())
		sent = sent[:0]
		return err
	}
	for _, mail := range mails {
		if err := ctx.Err(); err != nil {
			return errors.Join(err, flush()) // the rest go again once their lease ends
		}
		var sendErr error
		if mail.Deferred {
			var send bool
			if mail, send, sendErr = m.compose(ctx, mail); sendErr == nil && !send {
				continue // dropped, or composed and sent by a concurrent attempt
			}
		}
		var body string
		if sendErr == nil {
			body, sendErr = m.open(mail)
		}
		if sendErr == nil {
			sendErr = m.mailer.Send(ctx, ports.Message{To: mail.To, Subject: mail.Subject, Text: body})
		}
		if sendErr == nil {
			if sent = append(sent, mail.ID); len(sent) == sentBatch {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		}
		if err := m.failed(ctx, mail, sendErr); err != nil {
			return errors.Join(err, flush())
		}
	}
	return flush()
}

// failed records a failed attempt: retried with backoff, or failed for
// good once the attempts run out or the mailer says no retry can deliver
// it (ports.ErrPermanent: a rejected recipient, a malformed address).
func (m *Delivery) failed(ctx context.Context, mail domain.Mail, sendErr error) error {
	if mail.Attempts >= m.opts.MailAttempts || errors.Is(sendErr, ports.ErrPermanent) {
		m.log.ErrorContext(ctx, "mail failed for good", "mail", mail.ID, "kind", mail.Kind, "attempt", mail.Attempts, "err", sendErr)
		return m.store.Mails().Fail(ctx, mail.ID, sendErr.Error())
	}
	next := m.clock.Now().Add(m.opts.MailBackoff(mail.Attempts))
	m.log.WarnContext(ctx, "mail attempt failed", "mail", mail.ID, "kind", mail.Kind, "attempt", mail.Attempts, "retryAt", next, "err", sendErr)
	return m.store.Mails().Retry(ctx, mail.ID, sendErr.Error(), next)
}
