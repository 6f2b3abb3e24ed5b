package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// ---- mail fixtures ----

// mailResent is a kind of mail sent any number of times about a credential
// (the credentials use case's "credential.resent").
const mailResent domain.MailKind = "credential.resent"

// makeMail returns a queued mail about the credential (not inserted), due
// at next, with text a careless encoding breaks.
func makeMail(orgID string, credID domain.CredentialID, kind domain.MailKind, next time.Time) domain.Mail {
	return domain.Mail{ID: domain.NewID(), OrgID: orgID, CredentialID: credID, Kind: kind, To: newEmail(),
		Subject: "You've earned \"Badge " + uniq() + "\"", Text: "Hello Zoë,\n\tback\\slash 'quoted'\r\nbye",
		Status: domain.MailQueued, CreatedAt: t0, NextAttempt: next}
}

// createMail stores a fresh credential.issued mail due at next.
func createMail(t *testing.T, s ports.Store, orgID string, next time.Time) domain.Mail {
	t.Helper()
	m := makeMail(orgID, domain.NewCredentialID(), domain.MailCredentialIssued, next)
	must(t, s.Mails().Create(t.Context(), m))
	return m
}

func getMail(t *testing.T, s ports.Store, id string) domain.Mail {
	t.Helper()
	m, err := s.Mails().Get(t.Context(), id)
	must(t, err)
	return m
}

func wantNoMail(t *testing.T, s ports.Store, id string) {
	t.Helper()
	_, err := s.Mails().Get(t.Context(), id)
	if !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("mail %s: got %v, want it absent (ErrNotFound)", id, err)
	}
}

func claim(t *testing.T, s ports.Store, now, leaseUntil time.Time, ids ...string) []domain.Mail {
	t.Helper()
	ms, err := s.Mails().Claim(t.Context(), ids, now, leaseUntil)
	must(t, err)
	slices.SortFunc(ms, func(a, b domain.Mail) int { return strings.Compare(a.ID, b.ID) })
	return ms
}

func mailIDs(ms []domain.Mail) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func due(t *testing.T, s ports.Store, now, leaseUntil time.Time, limit int) []string {
	t.Helper()
	ids, err := s.Mails().Due(t.Context(), now, leaseUntil, limit)
	must(t, err)
	return ids
}

// claimed is m as one more claim at leaseUntil leaves it.
func claimed(m domain.Mail, leaseUntil time.Time) domain.Mail {
	m.Status, m.Attempts, m.NextAttempt = domain.MailSending, m.Attempts+1, leaseUntil
	return m
}

// ---- Mails ----

// Mails.Create: "inserts queued mails" (whatever status they carry). "A
// second mail of the same kind about the same credential (issued, renewed)
// is not inserted", silently, alone or among others, in a transaction or
// not; other kinds, resent mails, go in every time. Batches larger than
// one statement are stored whole.
func testMailCreate(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	cred := domain.NewCredentialID()

	m := makeMail(o.ID, cred, domain.MailCredentialIssued, t0.Add(30*time.Second))
	m.Status = domain.MailSent
	must(t, s.Mails().Create(ctx, m))
	m.Status = domain.MailQueued
	equal(t, getMail(t, s, m.ID), m)

	again := makeMail(o.ID, cred, domain.MailCredentialIssued, t0)
	must(t, s.Mails().Create(ctx, again))
	wantNoMail(t, s, again.ID)
	equal(t, getMail(t, s, m.ID), m)

	renewed, renewed2 := makeMail(o.ID, cred, domain.MailCredentialRenewed, t0), makeMail(o.ID, cred, domain.MailCredentialRenewed, t0)
	resent, resent2 := makeMail(o.ID, cred, mailResent, t0), makeMail(o.ID, cred, mailResent, t0)
	must(t, s.Mails().Create(ctx, renewed, resent, renewed2, resent2))
	for _, x := range []domain.Mail{renewed, resent, resent2} {
		equal(t, getMail(t, s, x.ID), x)
	}
	wantNoMail(t, s, renewed2.ID)

	// 1,005 mails in one call, outside a transaction.
	many := make([]domain.Mail, 1005)
	for i := range many {
		many[i] = makeMail(o.ID, domain.NewCredentialID(), domain.MailCredentialIssued, t0)
	}
	must(t, s.Mails().Create(ctx, many...))
	for _, i := range []int{0, 999, 1000, 1004} {
		equal(t, getMail(t, s, many[i].ID), many[i])
	}

	// 200 in a transaction, one of them a second issued mail of cred: it
	// alone is left out, and the transaction goes on and commits.
	batch := make([]domain.Mail, 200)
	for i := range batch {
		batch[i] = makeMail(o.ID, domain.NewCredentialID(), domain.MailCredentialIssued, t0)
	}
	batch[150] = makeMail(o.ID, cred, domain.MailCredentialIssued, t0)
	after := domain.User{ID: domain.NewID(), Email: newEmail(), Name: "After", PasswordHash: "x", CreatedAt: t0}
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.Mails().Create(ctx, batch...); err != nil {
			return err
		}
		return s.Users().Create(ctx, after)
	}))
	wantNoMail(t, s, batch[150].ID)
	for _, i := range []int{0, 149, 151, 199} {
		equal(t, getMail(t, s, batch[i].ID), batch[i])
	}
	_, err := s.Users().Get(ctx, after.ID)
	must(t, err)
	equal(t, getMail(t, s, m.ID), m)

	// Exactly these mails were stored (Due, in the far future, lists them all).
	want := []string{m.ID, renewed.ID, resent.ID, resent2.ID}
	want = append(want, mailIDs(many)...)
	want = append(want, mailIDs(slices.Delete(batch, 150, 151))...)
	equalIDs(t, "stored mails", due(t, s, t0.Add(1000*time.Hour), t0.Add(1001*time.Hour), 5000), want)
}

// Mails.Due: "up to limit mails due for an attempt (queued with NextAttempt
// <= now, or sending with a lease that ended), moving their NextAttempt to
// leaseUntil so that no other sweep takes them meanwhile". Sent and failed
// mails are never due.
func testMailDue(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	past := t0.Add(-time.Hour)

	overdue := createMail(t, s, o.ID, t0.Add(-time.Minute))
	dueNow := createMail(t, s, o.ID, t0) // NextAttempt == now
	notYet := createMail(t, s, o.ID, t0.Add(time.Minute))
	sent := createMail(t, s, o.ID, past)
	claim(t, s, past, past.Add(time.Minute), sent.ID)
	must(t, s.Mails().Sent(ctx, []string{sent.ID}, past))
	failed := createMail(t, s, o.ID, past)
	claim(t, s, past, past.Add(time.Minute), failed.ID)
	must(t, s.Mails().Fail(ctx, failed.ID, "550 no such user"))
	lost := createMail(t, s, o.ID, past) // its sender died: the lease ended at t0-30m
	claim(t, s, past, t0.Add(-30*time.Minute), lost.ID)
	sending := createMail(t, s, o.ID, past) // being sent until t0+30m
	claim(t, s, past, t0.Add(30*time.Minute), sending.ID)

	mark := t0.Add(5 * time.Minute)
	equalIDs(t, "due", due(t, s, t0, mark, 100), []string{overdue.ID, dueNow.ID, lost.ID})
	for _, id := range []string{overdue.ID, dueNow.ID, lost.ID} {
		equal(t, getMail(t, s, id).NextAttempt, mark)
	}
	equal(t, getMail(t, s, overdue.ID).Status, domain.MailQueued)
	equalIDs(t, "second sweep", due(t, s, t0, mark, 100), nil)
	equalIDs(t, "sweep before the mark ends", due(t, s, t0.Add(4*time.Minute), t0.Add(10*time.Minute), 100), []string{notYet.ID})
	equalIDs(t, "after the mark", due(t, s, t0.Add(6*time.Minute), t0.Add(20*time.Minute), 100), []string{overdue.ID, dueNow.ID, lost.ID})

	// limit: at t0+40m every unsent mail is due; two sweeps split them.
	later := t0.Add(40 * time.Minute)
	two := due(t, s, later, later.Add(time.Minute), 2)
	if len(two) != 2 {
		t.Fatalf("Due with limit 2 returned %v", two)
	}
	rest := due(t, s, later, later.Add(time.Minute), 100)
	equalIDs(t, "both sweeps", append(two, rest...), []string{overdue.ID, dueNow.ID, notYet.ID, lost.ID, sending.ID})
	equalIDs(t, "sent and failed mails", due(t, s, t0.Add(1000*time.Hour), t0.Add(1001*time.Hour), 100), []string{overdue.ID, dueNow.ID, notYet.ID, lost.ID, sending.ID})
}

// The sweep's round trip: a sending mail whose sender died is due, and the
// attempt Due hands it to can start (Claim at the sweep's time). Due's mark
// must not read as a live lease, or such a mail is never sent.
func testMailDueLostSendingIsClaimable(t *testing.T, s ports.Store) {
	o := newOrg(t, s)
	past := t0.Add(-time.Hour)
	lost := createMail(t, s, o.ID, past)
	claim(t, s, past, t0.Add(-30*time.Minute), lost.ID)

	equalIDs(t, "due", due(t, s, t0, t0.Add(30*time.Second), 100), []string{lost.ID})
	got := claim(t, s, t0.Add(time.Second), t0.Add(2*time.Minute), lost.ID)
	if len(got) != 1 {
		t.Fatalf("the mail Due returned could not be claimed: %+v", show(getMail(t, s, lost.ID)))
	}
	equal(t, [3]any{got[0].Status, got[0].Attempts, got[0].NextAttempt}, [3]any{domain.MailSending, 2, t0.Add(2 * time.Minute)})
}

// Mails.Claim: "starts an attempt at each of the mails that is queued or
// sending with an ended lease: sending, one more attempt, leased until
// leaseUntil; it returns those ... Mails sent, failed or being sent are left
// out". Sent, Retry and Fail set the status, error and times.
func testMailLifecycle(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)

	// A queued mail is claimable before it is due: the relay decides when.
	m := createMail(t, s, o.ID, t0.Add(30*time.Second))
	lease := t0.Add(2 * time.Minute)
	got := claim(t, s, t0, lease, m.ID)
	m = claimed(m, lease)
	equal(t, got, []domain.Mail{m})
	equal(t, getMail(t, s, m.ID), m)

	// Being sent: nothing while the lease runs, and nothing changes.
	equal(t, len(claim(t, s, t0.Add(time.Minute), t0.Add(time.Hour), m.ID)), 0)
	equal(t, getMail(t, s, m.ID), m)
	// Once the lease ended, the next attempt.
	lease = t0.Add(5 * time.Minute)
	got = claim(t, s, t0.Add(3*time.Minute), lease, m.ID)
	m = claimed(m, lease)
	equal(t, got, []domain.Mail{m})
	equal(t, m.Attempts, 2)

	// Retry: queued again, due at next, with the error.
	next := t0.Add(10 * time.Minute)
	must(t, s.Mails().Retry(ctx, m.ID, "451 try again later", next))
	m.Status, m.LastError, m.NextAttempt = domain.MailQueued, "451 try again later", next
	equal(t, getMail(t, s, m.ID), m)
	equalIDs(t, "due before next", due(t, s, next.Add(-time.Second), next.Add(time.Hour), 100), nil)
	equalIDs(t, "due at next", due(t, s, next, next.Add(time.Minute), 100), []string{m.ID})
	m.NextAttempt = next.Add(time.Minute)

	// Fail: failed for good, never claimed or due again.
	got = claim(t, s, next, next.Add(2*time.Minute), m.ID)
	m = claimed(m, next.Add(2*time.Minute))
	equal(t, got, []domain.Mail{m})
	must(t, s.Mails().Fail(ctx, m.ID, "550 no such user"))
	m.Status, m.LastError = domain.MailFailed, "550 no such user"
	equal(t, getMail(t, s, m.ID), m)
	equal(t, len(claim(t, s, t0.Add(1000*time.Hour), t0.Add(1001*time.Hour), m.ID)), 0)
	equal(t, getMail(t, s, m.ID), m)

	// Sent: delivered, never claimed or due again; several at once.
	a, b, c := createMail(t, s, o.ID, t0), createMail(t, s, o.ID, t0), createMail(t, s, o.ID, t0)
	claim(t, s, t0, t0.Add(time.Minute), a.ID, b.ID, c.ID)
	at := t0.Add(20 * time.Second)
	must(t, s.Mails().Sent(ctx, []string{a.ID, b.ID}, at))
	for _, x := range []domain.Mail{a, b} {
		got := getMail(t, s, x.ID)
		if got.Status != domain.MailSent || got.SentAt == nil || !got.SentAt.Equal(at) || got.Attempts != 1 {
			t.Fatalf("after Sent: %s", show(got))
		}
	}
	equal(t, getMail(t, s, c.ID).Status, domain.MailSending)
	equal(t, len(claim(t, s, t0.Add(1000*time.Hour), t0.Add(1001*time.Hour), a.ID, b.ID)), 0)
	equal(t, getMail(t, s, a.ID).Status, domain.MailSent)

	// Of a mixed list only the claimable ones are claimed: queued (q), a
	// lease ended (c at t0+2m); not sent (a), failed (m), being sent (live),
	// unknown.
	q := createMail(t, s, o.ID, t0.Add(time.Hour))
	live := createMail(t, s, o.ID, t0)
	claim(t, s, t0, t0.Add(time.Hour), live.ID)
	got = claim(t, s, t0.Add(2*time.Minute), t0.Add(4*time.Minute), q.ID, a.ID, m.ID, live.ID, c.ID, domain.NewID())
	equalIDs(t, "claimed of a mixed list", mailIDs(got), []string{q.ID, c.ID})
	for _, x := range got {
		equal(t, x, getMail(t, s, x.ID))
		equal(t, [2]any{x.Status, x.NextAttempt}, [2]any{domain.MailSending, t0.Add(4 * time.Minute)})
	}
	equal(t, len(claim(t, s, t0, t0.Add(time.Minute))), 0) // no ids

	// Writes to an unknown mail say so.
	wantErr(t, s.Mails().Retry(ctx, domain.NewID(), "x", t0), domain.ErrNotFound)
	wantErr(t, s.Mails().Fail(ctx, domain.NewID(), "x"), domain.ErrNotFound)
}

// Mails.Claim: "of concurrent claimers of a mail one gets it" — one mail
// claimed by 10, and 20 mails each claimed by 8 claimers of all 20.
// Mails.Due: concurrent sweeps never hand out one mail twice.
func testMailConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)

	m := createMail(t, s, o.ID, t0)
	const n = 10
	warmPool(t, s, n)
	got := make([][]domain.Mail, n)
	errs := race(n, func(i int) error {
		var err error
		got[i], err = s.Mails().Claim(ctx, []string{m.ID}, t0, t0.Add(time.Minute))
		return err
	})
	winners := 0
	for i, err := range errs {
		must(t, err)
		winners += len(got[i])
	}
	equal(t, winners, 1)
	equal(t, getMail(t, s, m.ID).Attempts, 1)

	var ids []string
	for range 20 {
		ids = append(ids, createMail(t, s, o.ID, t0).ID)
	}
	const claimers = 8
	got = make([][]domain.Mail, claimers)
	errs = race(claimers, func(i int) error {
		var err error
		got[i], err = s.Mails().Claim(ctx, ids, t0, t0.Add(time.Minute))
		return err
	})
	var all []string
	for i, err := range errs {
		must(t, err)
		all = append(all, mailIDs(got[i])...)
	}
	equalIDs(t, "mails of all claimers", all, ids) // each exactly once
	for _, id := range ids {
		equal(t, getMail(t, s, id).Attempts, 1)
	}

	ids = ids[:0]
	for range 20 {
		ids = append(ids, createMail(t, s, o.ID, t0).ID)
	}
	sweeps := make([][]string, claimers)
	errs = race(claimers, func(i int) error {
		var err error
		sweeps[i], err = s.Mails().Due(ctx, t0, t0.Add(time.Minute), 100)
		return err
	})
	all = all[:0]
	for i, err := range errs {
		must(t, err)
		all = append(all, sweeps[i]...)
	}
	equalIDs(t, "mails of all sweeps", all, ids)
}

// Mails.Latest: "the newest mail about the credential; ErrNotFound when none
// was ever created", whatever the order they were written in.
func testMailLatest(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	cred, other := domain.NewCredentialID(), domain.NewCredentialID()
	_, err := s.Mails().Latest(ctx, cred)
	wantErr(t, err, domain.ErrNotFound)

	issued := makeMail(o.ID, cred, domain.MailCredentialIssued, t0)
	second := makeMail(o.ID, cred, mailResent, t0)
	second.CreatedAt = t0.Add(2 * time.Hour)
	first := makeMail(o.ID, cred, mailResent, t0)
	first.CreatedAt = t0.Add(time.Hour)
	for _, m := range []domain.Mail{second, issued, first} {
		must(t, s.Mails().Create(ctx, m))
	}
	otherMail := makeMail(o.ID, other, domain.MailCredentialIssued, t0)
	otherMail.CreatedAt = t0.Add(3 * time.Hour)
	must(t, s.Mails().Create(ctx, otherMail))

	got, err := s.Mails().Latest(ctx, cred)
	must(t, err)
	equal(t, got, second)
	got, err = s.Mails().Latest(ctx, other)
	must(t, err)
	equal(t, got, otherMail)

	// Its state is the current one.
	claim(t, s, t0, t0.Add(time.Minute), second.ID)
	must(t, s.Mails().Sent(ctx, []string{second.ID}, t0.Add(time.Second)))
	got, err = s.Mails().Latest(ctx, cred)
	must(t, err)
	equal(t, got, getMail(t, s, second.ID))
	equal(t, got.Status, domain.MailSent)
}

// ---- Credentials.InsertFirst with a mail and an activity entry ----

// credentialMail is the issued mail of c (not inserted).
func credentialMail(c domain.Credential) *domain.Mail {
	m := makeMail(c.OrgID, c.ID, domain.MailCredentialIssued, t0.Add(30*time.Second))
	m.To = c.RecipientEmail
	return &m
}

// issuedActivity is the activity entry of c's issue (not inserted).
func issuedActivity(c domain.Credential) *domain.Activity {
	a := domain.Activity{ID: domain.NewID(), OrgID: c.OrgID, ActorUser: c.CreatedBy, IP: "192.0.2.7",
		Action: domain.ActCredentialIssued, TargetType: "credential", Target: string(c.ID), Detail: "to " + c.RecipientEmail, CreatedAt: t0}
	return &a
}

// first is the FirstIssue of c with its mail and activity entry.
func first(c domain.Credential, month time.Time, limit int) ports.FirstIssue {
	return ports.FirstIssue{Credential: c, Month: month, Limit: limit, Mail: credentialMail(c), Activity: issuedActivity(c)}
}

// wantActivity fails unless the log holds exactly the entries of want
// about c (none when want is nil).
func wantActivity(t *testing.T, s ports.Store, c domain.Credential, want *domain.Activity) {
	t.Helper()
	got, err := s.Activity().List(t.Context(), ports.ActivityFilter{OrgID: c.OrgID, Target: string(c.ID)})
	must(t, err)
	switch {
	case want == nil && len(got) != 0:
		t.Errorf("activity of credential %s: %+v, want none", c.ID, got)
	case want != nil:
		if len(got) != 1 {
			t.Fatalf("activity of credential %s: %+v, want one entry", c.ID, got)
		}
		equal(t, got[0], *want)
	}
}

// Credentials.InsertFirst: "it queues f.Mail and logs f.Activity when they
// are not nil; all as one atomic step"; "handled is false, and nothing is
// written" — no mail, no entry either — "when the chain already has a head
// or the quota cannot simply be counted". In a transaction they go and
// come with it.
func testCredentialInsertFirstMailActivity(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	month := domain.MonthStart(t0)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error { // the month's first count
		_, err := s.Quota().Consume(ctx, is.org.ID, month, newEmail(), 10)
		return err
	}))

	email := newEmail()
	var (
		c       domain.Credential
		f       ports.FirstIssue
		mail    *domain.Mail
		handled bool
	)
	for i := 0; i < 20 && !handled; i++ { // a random shard may be full only at the limit
		c = is.credential(email, t0)
		f = first(c, month, 10)
		mail = f.Mail
		var err error
		handled, err = s.Credentials().InsertFirst(ctx, f)
		must(t, err)
		if !handled {
			wantNoMail(t, s, mail.ID)
			wantActivity(t, s, c, nil)
		}
	}
	if !handled {
		t.Fatal("InsertFirst declined a first credential with quota to spare")
	}
	got, err := s.Credentials().Get(ctx, c.ID)
	must(t, err)
	equal(t, got, c)
	equal(t, getMail(t, s, mail.ID), *mail)
	latest, err := s.Mails().Latest(ctx, c.ID)
	must(t, err)
	equal(t, latest, *mail)
	wantActivity(t, s, c, f.Activity)

	// Declined, the chain has a head: no mail.
	dup := is.credential(email, t0.Add(time.Minute))
	f = first(dup, month, 10)
	dupMail := f.Mail
	handled, err = s.Credentials().InsertFirst(ctx, f)
	must(t, err)
	if handled {
		t.Fatal("InsertFirst stored a second head of a chain")
	}
	wantNoMail(t, s, dupMail.ID)
	wantActivity(t, s, dup, nil)
	_, err = s.Mails().Latest(ctx, dup.ID)
	wantErr(t, err, domain.ErrNotFound)

	// Declined at the quota limit: no mail.
	full := newIssuer(t, s)
	must(t, s.WithinTx(ctx, func(ctx context.Context) error {
		_, err := s.Quota().Consume(ctx, full.org.ID, month, newEmail(), 1)
		return err
	}))
	over := full.credential(newEmail(), t0)
	f = first(over, month, 1)
	overMail := f.Mail
	handled, err = s.Credentials().InsertFirst(ctx, f)
	must(t, err)
	if handled {
		t.Fatal("InsertFirst went past the quota")
	}
	wantNoMail(t, s, overMail.ID)
	wantActivity(t, s, over, nil)
	_, err = s.Credentials().Get(ctx, over.ID)
	wantErr(t, err, domain.ErrNotFound)

	// A test credential (never counted) with a mail: both stored.
	test := is.credential(newEmail(), t0)
	test.Test = true
	f = first(test, month, 10)
	testMail := f.Mail
	handled, err = s.Credentials().InsertFirst(ctx, f)
	must(t, err)
	if !handled {
		t.Fatal("InsertFirst declined a test credential")
	}
	equal(t, getMail(t, s, testMail.ID), *testMail)
	wantActivity(t, s, test, f.Activity)

	// Inside a transaction that fails, credential, count and mail go back.
	in := is.credential(newEmail(), t0)
	inFirst := first(in, month, 10)
	inMail := inFirst.Mail
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		handled, err := s.Credentials().InsertFirst(ctx, inFirst)
		if err != nil {
			return err
		}
		if !handled {
			return errors.New("InsertFirst declined inside a transaction")
		}
		if _, err := s.Mails().Get(ctx, inMail.ID); err != nil {
			return fmt.Errorf("the mail is not visible in the transaction: %w", err)
		}
		if got, err := s.Activity().List(ctx, ports.ActivityFilter{OrgID: in.OrgID, Target: string(in.ID)}); err != nil || len(got) != 1 {
			return fmt.Errorf("the activity entry is not visible in the transaction: %v, %w", got, err)
		}
		return errBoom
	})
	wantErr(t, err, errBoom)
	wantNoMail(t, s, inMail.ID)
	wantActivity(t, s, in, nil)
	_, err = s.Credentials().Get(ctx, in.ID)
	wantErr(t, err, domain.ErrNotFound)
	counted, err := s.Quota().Counted(ctx, is.org.ID, month, in.RecipientEmail)
	must(t, err)
	equal(t, counted, false)
}

// ---- Events ----

// jsonEqual reports whether a and b are the same JSON value. PostgreSQL
// stores payloads as jsonb, which keeps the value but not the bytes (key
// order, spacing), so payloads are compared as values; numbers compare by
// their text, so a payload that lost precision shows.
func jsonEqual(a, b []byte) bool {
	decode := func(p []byte) (any, error) {
		d := json.NewDecoder(bytes.NewReader(p))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		if d.More() {
			return nil, errors.New("trailing data")
		}
		return v, nil
	}
	va, err := decode(a)
	if err != nil {
		return false
	}
	vb, err := decode(b)
	if err != nil {
		return false
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// Events: Record, and List: "the organization's events, oldest first, after
// the cursor". Events of the same instant are listed in some fixed order:
// every page continues the previous one. The payload comes back as the
// same JSON value (see jsonEqual).
func testEvents(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	payloads := []string{
		`{"id":"j1","status":"completed","total":2500,"issued":2499,"failed":1,"error":""}`,
		`{"z":[1,2.5,{"a":null}],"a":true,"big":9007199254740993,"text":"Zoë \"q\"\t\\ \u2028 <&>"}`,
		`{ "spaced" : [ ] , "nested" : { "b" : 1 , "a" : 2 } }`,
		`[1,"two",{"three":3}]`,
		`{}`,
	}
	want := map[string]domain.Event{}
	for i, p := range payloads {
		e := domain.Event{ID: domain.NewID(), OrgID: o.ID, Type: domain.EventBulkIssuanceCompleted, SubjectID: domain.NewID(),
			Payload: []byte(p), CreatedAt: t0.Add(time.Duration((len(payloads)-1-i)/2) * time.Minute)} // written newest first
		must(t, s.Events().Record(ctx, e))
		want[e.ID] = e
	}
	must(t, s.Events().Record(ctx, domain.Event{ID: domain.NewID(), OrgID: other.ID, Type: domain.EventBulkIssuanceCompleted,
		SubjectID: domain.NewID(), Payload: []byte(`{}`), CreatedAt: t0}))

	all, err := s.Events().List(ctx, o.ID, ports.Page{})
	must(t, err)
	if len(all) != len(want) {
		t.Fatalf("listed %d events, want %d", len(all), len(want))
	}
	for i, got := range all {
		w, ok := want[got.ID]
		if !ok {
			t.Fatalf("listed an event %s that is not the organization's", got.ID)
		}
		if !jsonEqual(got.Payload, w.Payload) {
			t.Fatalf("payload of %s:\n got %s\nwant %s", got.ID, got.Payload, w.Payload)
		}
		got.Payload, w.Payload = nil, nil
		equal(t, got, w)
		if i > 0 && got.CreatedAt.Before(all[i-1].CreatedAt) {
			t.Fatalf("event %d (created %s) listed after a newer one (%s)", i, got.CreatedAt, all[i-1].CreatedAt)
		}
	}
	for _, limit := range []int{1, 2} {
		var paged []domain.Event
		page := ports.Page{Limit: limit}
		for {
			p, err := s.Events().List(ctx, o.ID, page)
			must(t, err)
			if len(p) > limit {
				t.Fatalf("page of %d, limit %d", len(p), limit)
			}
			paged = append(paged, p...)
			if len(p) < limit {
				break
			}
			page.After = p[len(p)-1].ID
		}
		equal(t, eventIDs(paged), eventIDs(all))
	}
	// Many in one call (a bulk job's chunk): more than one statement holds.
	third := newOrg(t, s)
	many := make([]domain.Event, 2100)
	for i := range many {
		many[i] = domain.Event{ID: domain.NewID(), OrgID: third.ID, Type: domain.EventCredentialIssued, SubjectID: domain.NewID(),
			Payload: []byte(`{"n":1}`), CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	must(t, s.Events().Record(ctx, many...))
	var listed []domain.Event
	for page := (ports.Page{Limit: 100}); ; {
		p, err := s.Events().List(ctx, third.ID, page)
		must(t, err)
		listed = append(listed, p...)
		if len(p) < 100 {
			break
		}
		page.After = p[len(p)-1].ID
	}
	equal(t, eventIDs(listed), eventIDs(many))
	// Recorded in a transaction that fails, an event goes back.
	e := domain.Event{ID: domain.NewID(), OrgID: other.ID, Type: domain.EventBulkIssuanceCompleted, SubjectID: "x", Payload: []byte(`{}`), CreatedAt: t0.Add(time.Hour)}
	wantErr(t, s.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.Events().Record(ctx, e); err != nil {
			return err
		}
		return errBoom
	}), errBoom)
	evs, err := s.Events().List(ctx, other.ID, ports.Page{})
	must(t, err)
	equal(t, len(evs), 1)
}

func eventIDs(es []domain.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
