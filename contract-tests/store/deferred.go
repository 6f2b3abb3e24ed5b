package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Deferred mail (written at delivery) and a taken email inside a
// transaction: what keeps account requests from telling, by their cost,
// which emails have accounts.

// createDeferred stores a deferred account mail to a fresh address.
func createDeferred(t *testing.T, s ports.Store) domain.Mail {
	t.Helper()
	m := domain.Mail{ID: domain.NewID(), Kind: domain.MailVerifyEmail, To: newEmail(), Text: "c2VhbGVkIGlucHV0",
		Sealed: true, Deferred: true, Status: domain.MailQueued, CreatedAt: t0, NextAttempt: t0}
	must(t, s.Mails().Create(t.Context(), m))
	return m
}

// Mails.Compose: "writes what a deferred mail turned out to be (kind,
// subject, text, sealed or not) and makes it an ordinary mail, keeping its
// status, attempts and lease"; Drop: "ends a deferred mail dropped, with
// reason as its last error, never to be attempted again"; "Either changes
// only a mail still deferred: else it returns an error matching
// domain.ErrInvalidState"; "an unknown mail is ErrNotFound". Drop: "its
// address and text erased".
func testMailComposeAndDrop(t *testing.T, s ports.Store) {
	ctx := t.Context()
	m := createDeferred(t, s)
	equal(t, getMail(t, s, m.ID), m) // Deferred round trips
	lease := t0.Add(2 * time.Minute)
	claim(t, s, t0, lease, m.ID)
	m = claimed(m, lease)

	must(t, s.Mails().Compose(ctx, m.ID, domain.MailSignUpAttempt, "Someone tried to sign up", "c2VhbGVkIHRleHQ=", true))
	m.Kind, m.Subject, m.Text, m.Deferred = domain.MailSignUpAttempt, "Someone tried to sign up", "c2VhbGVkIHRleHQ=", false
	equal(t, getMail(t, s, m.ID), m)
	wantErr(t, s.Mails().Compose(ctx, m.ID, domain.MailVerifyEmail, "again", "again", false), domain.ErrInvalidState)
	wantErr(t, s.Mails().Drop(ctx, m.ID, "no account"), domain.ErrInvalidState)
	equal(t, getMail(t, s, m.ID), m)
	must(t, s.Mails().Sent(ctx, []string{m.ID}, t0.Add(time.Minute))) // an ordinary mail from now on
	equal(t, getMail(t, s, m.ID).Status, domain.MailSent)

	d := createDeferred(t, s)
	claim(t, s, t0, lease, d.ID)
	d = claimed(d, lease)
	must(t, s.Mails().Drop(ctx, d.ID, "dropped: no account"))
	d.Status, d.LastError, d.Deferred, d.To, d.Text, d.Sealed = domain.MailDropped, "dropped: no account", false, "", "", false
	equal(t, getMail(t, s, d.ID), d)
	wantErr(t, s.Mails().Drop(ctx, d.ID, "again"), domain.ErrInvalidState)
	equal(t, len(claim(t, s, t0.Add(1000*time.Hour), t0.Add(1001*time.Hour), d.ID)), 0)
	equalIDs(t, "due after the drop", due(t, s, t0.Add(1000*time.Hour), t0.Add(1001*time.Hour), 100), nil)
	equal(t, getMail(t, s, d.ID), d)

	// A mail that never was deferred is not composed over.
	plain := createMail(t, s, newOrg(t, s).ID, t0)
	wantErr(t, s.Mails().Compose(ctx, plain.ID, domain.MailVerifyEmail, "x", "x", false), domain.ErrInvalidState)
	wantErr(t, s.Mails().Drop(ctx, plain.ID, "x"), domain.ErrInvalidState)
	equal(t, getMail(t, s, plain.ID), plain)

	wantErr(t, s.Mails().Compose(ctx, domain.NewID(), domain.MailVerifyEmail, "x", "x", false), domain.ErrNotFound)
	wantErr(t, s.Mails().Drop(ctx, domain.NewID(), "x"), domain.ErrNotFound)
}

// Mails.Compose and Drop: "(a concurrent attempt composed it first)" —
// of concurrent settlements of one mail, each in a transaction of its own
// as at delivery, exactly one wins and the others get ErrInvalidState.
func testMailComposeConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	warmPool(t, s, 8)
	for round := range 3 {
		m := createDeferred(t, s)
		errs := race(8, func(i int) error {
			return s.WithinTx(ctx, func(ctx context.Context) error {
				if i%2 == 0 {
					return s.Mails().Drop(ctx, m.ID, "no account")
				}
				return s.Mails().Compose(ctx, m.ID, domain.MailVerifyEmail, "subject", "text", true)
			})
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, domain.ErrInvalidState):
				t.Fatalf("round %d: concurrent settlement: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of 8 concurrent settlements of one mail succeeded, want 1", round, won)
		}
		if getMail(t, s, m.ID).Deferred {
			t.Fatalf("round %d: the mail is still deferred", round)
		}
	}
}

// Mails.Compose inside a transaction that rolls back leaves the mail
// deferred, as it was: the composer's writes and the composition commit
// together or not at all.
func testMailComposeRollback(t *testing.T, s ports.Store) {
	ctx := t.Context()
	m := createDeferred(t, s)
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Mails().Compose(ctx, m.ID, domain.MailVerifyEmail, "subject", "text", true))
		return errBoom
	})
	wantErr(t, err, errBoom)
	equal(t, getMail(t, s, m.ID), m)
}

// Users.Create: "an email already registered returns an error matching
// ErrEmailTaken and writes nothing, inside a transaction too (the
// transaction stays usable)".
func testUserEmailTakenInTx(t *testing.T, s ports.Store) {
	ctx := t.Context()
	u := newUser(t, s)
	dup := domain.User{ID: domain.NewID(), Email: u.Email, Name: "Other", PasswordHash: "x", CreatedAt: t0}
	mail := createDeferred(t, s)
	mail.ID, mail.To = domain.NewID(), u.Email
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		wantErr(t, s.Users().Create(ctx, dup), ports.ErrEmailTaken)
		return s.Mails().Create(ctx, mail) // what sign-up writes next
	}))
	_, err := s.Users().Get(ctx, dup.ID)
	wantErr(t, err, domain.ErrNotFound)
	got, err := s.Users().GetByEmail(ctx, u.Email)
	must(t, err)
	equal(t, got, u)
	equal(t, getMail(t, s, mail.ID), mail)
}
