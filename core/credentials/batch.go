package credentials

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/ports"
)

// BatchResult is the outcome of one recipient of a batch: the credential
// issued, or why not (a *domain.DuplicateError for an active non-expiring
// credential, a *domain.QuotaError past the monthly quota).
type BatchResult struct {
	Recipient domain.Recipient
	Issued    *Issued
	Err       error
}

// ErrBatchConflict is returned by IssueBatch when an issue to one of the
// recipients happened meanwhile: nothing of the batch was written, and
// the caller issues its recipients one by one instead.
var ErrBatchConflict = ports.ErrBatchConflict

// IssueBatch issues the badge to many recipients (normalized, distinct
// emails) with the rules of Issue, fast: one read of every recipient's
// chain, the signatures made in parallel on every core, then one
// transaction that counts the quota for the whole batch in recipient
// order, supersedes earlier credentials, inserts every credential in one
// statement, queues the mail, and runs within(ctx, results) (bulk issuance
// records its rows there). A refused recipient (duplicate, quota) is a
// result, not an error; errors stop the whole batch: the organization,
// badge or key refusing to issue (the coded errors of Issue),
// ErrBatchConflict, an error of within, or a store failure.
func (s *Service) IssueBatch(ctx context.Context, actor domain.Actor, orgID, badgeID string, rcpts []domain.Recipient, within func(ctx context.Context, results []BatchResult) error) ([]BatchResult, error) {
	b, err := s.PrepareBatch(ctx, actor, orgID, badgeID, rcpts)
	if err != nil {
		return nil, err
	}
	results, err := b.Commit(ctx, within)
	if err == nil && len(b.Mails) > 0 {
		s.relay.MailsQueued(ctx, b.Mails...)
	}
	return results, err
}

// Batch is a batch of credentials planned and signed, ready to commit.
// Preparing the next batch while committing this one keeps both the cores
// (signing) and the database (writing) busy.
type Batch struct {
	s       *Service
	org     domain.Organization
	badge   domain.Badge
	test    bool
	now     time.Time
	rcpts   []domain.Recipient
	heads   map[string]domain.Credential
	results []BatchResult
	todo    []int // indexes of recipients to issue to

	// Mails are the IDs of the mail queued by Commit. Commit leaves their
	// relay to the caller (IssueBatch relays at once; bulk issuance when
	// its job completes, so that its mail does not compete with it).
	Mails []string
}

// PrepareBatch does the first half of IssueBatch: the checks, the read of
// the chains, the plan and the signatures. It writes nothing.
func (s *Service) PrepareBatch(ctx context.Context, actor domain.Actor, orgID, badgeID string, rcpts []domain.Recipient) (*Batch, error) {
	g, err := s.Gate(ctx, actor, orgID, badgeID, nil)
	if err != nil {
		return nil, err
	}
	org, badge, signer := g.Org, g.Badge, g.Signer
	emails := make([]string, len(rcpts))
	for i, r := range rcpts {
		emails[i] = r.Email
	}
	test := actor.APIKeyMode == domain.APIKeyTest
	heads, err := s.store.Credentials().Heads(ctx, badgeID, test, emails, false)
	if err != nil {
		return nil, err
	}

	// Plan every recipient against its chain head as read.
	now := s.now()
	results := make([]BatchResult, len(rcpts))
	var todo []int // indexes of recipients to issue to
	for i, r := range rcpts {
		results[i].Recipient = r
		var head *domain.Credential
		if h, ok := heads[r.Email]; ok {
			head = &h
		}
		c := domain.Credential{
			ID: domain.NewCredentialID(), OrgID: org.ID, BadgeID: badge.ID,
			RecipientName: r.Name, RecipientEmail: r.Email,
			IssuedAt: now, ExpiresAt: badge.ExpiryFrom(now), Public: true,
			Test: test, KeyID: signer.KID(), CreatedBy: actor.ID(),
		}
		is, err := domain.PlanIssue(&c, head, now)
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i].Issued = &Issued{Credential: c, State: is.State, Previous: is.Previous}
		todo = append(todo, i)
	}

	// Every credential takes its place in a status list before it is
	// signed: its document names it.
	proof, err := s.prover(ctx, org)
	if err != nil {
		return nil, err
	}
	if len(todo) > 0 {
		slots, err := s.slots(ctx, org, signer, len(todo))
		if err != nil {
			return nil, err
		}
		for k, i := range todo {
			results[i].Issued.Credential.Slot = &slots[k]
		}
	}

	// Sign in parallel: the documents do not depend on the chain.
	if err := s.signAll(ctx, signer, proof, org, badge, now, results, todo); err != nil {
		return nil, err
	}
	return &Batch{s: s, org: org, badge: badge, test: test, now: now, rcpts: rcpts, heads: heads, results: results, todo: todo}, nil
}

// Commit does the second half of IssueBatch: the transaction. A batch
// commits at most once.
func (b *Batch) Commit(ctx context.Context, within func(ctx context.Context, results []BatchResult) error) ([]BatchResult, error) {
	s, org, badge, test, now, rcpts, heads, results, todo := b.s, b.org, b.badge, b.test, b.now, b.rcpts, b.heads, b.results, b.todo
	badgeID := badge.ID
	var mails []domain.Mail
	var changed, hooks []string
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		mails, changed, hooks = mails[:0], nil, nil
		// The heads read before must still be the heads: lock them.
		var known []string
		for _, i := range todo {
			if results[i].Issued.Previous != nil {
				known = append(known, rcpts[i].Email)
			}
		}
		if len(known) > 0 {
			now, err := s.store.Credentials().Heads(ctx, badgeID, test, known, true)
			if err != nil {
				return err
			}
			for _, e := range known {
				if h, ok := now[e]; !ok || !sameHead(h, heads[e]) {
					return ErrBatchConflict
				}
			}
		}
		issue := todo
		if !test {
			var counting []string
			for _, i := range todo {
				counting = append(counting, rcpts[i].Email)
			}
			plan := s.plans.Get(org.Plan)
			rejected, err := s.store.Quota().ConsumeMany(ctx, org.ID, domain.MonthStart(now), counting, plan.MonthlyRecipients)
			if err != nil {
				return err
			}
			if len(rejected) > 0 {
				used, err := s.store.Quota().Used(ctx, org.ID, domain.MonthStart(now))
				if err != nil {
					return err
				}
				quotaErr := &domain.QuotaError{Used: used, Limit: plan.MonthlyRecipients, ResetsAt: domain.NextMonthStart(now)}
				issue = nil
				for _, i := range todo {
					if rejected[rcpts[i].Email] {
						results[i].Issued, results[i].Err = nil, quotaErr
						continue
					}
					issue = append(issue, i)
				}
			}
		}
		creds := make([]domain.Credential, 0, len(issue))
		var revoked []domain.Credential // earlier credentials the renewals revoke
		// The webhook events, as Issue writes them: issued or renewed,
		// and revoked for a credential a renewal revoked.
		var types []domain.EventType
		var subjects []domain.Credential
		for _, i := range issue {
			is := results[i].Issued
			if is.Previous != nil {
				if err := s.store.Credentials().Update(ctx, *is.Previous); err != nil {
					return err
				}
				if is.State == domain.StateActiveTimeBound {
					revoked = append(revoked, *is.Previous)
				}
			}
			creds = append(creds, is.Credential)
			t := domain.EventCredentialIssued
			if is.State != domain.StateNew {
				t = domain.EventCredentialRenewed
			}
			types, subjects = append(types, t), append(subjects, is.Credential)
			if is.State == domain.StateActiveTimeBound && is.Previous != nil {
				// The renewal revoked it (not one revoked long before).
				types, subjects = append(types, domain.EventCredentialRevoked), append(subjects, *is.Previous)
			}
			if m := s.credentialMail(org, badge, *is, now); m != nil {
				mails = append(mails, *m)
			}
		}
		if err := s.store.Credentials().InsertMany(ctx, creds); err != nil {
			return err
		}
		var err error
		if changed, err = s.statusChanged(ctx, revoked...); err != nil {
			return err
		}
		if err := s.store.Mails().Create(ctx, mails...); err != nil {
			return err
		}
		if hooks, err = s.emit(ctx, org, types, subjects...); err != nil {
			return err
		}
		if !badge.Locked && len(creds) > 0 {
			if err := s.store.Badges().Lock(ctx, badge.ID, badge.UpdatedAt); errors.Is(err, domain.ErrInvalidState) {
				return ErrBatchConflict // edited meanwhile: what was signed is stale
			} else if err != nil {
				return err
			}
		}
		if within != nil {
			return within(ctx, results)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		s.relay.StatusListsChanged(context.WithoutCancel(ctx), changed...)
	}
	// Webhooks go out at once, unlike the mail: the promise is that they
	// never fall far behind the job.
	s.queued(ctx, hooks)
	for _, m := range mails {
		b.Mails = append(b.Mails, m.ID)
	}
	return results, nil
}

// sameHead reports whether a chain head is as it was read.
func sameHead(a, b domain.Credential) bool {
	return a.ID == b.ID && a.SupersededByID == b.SupersededByID && sameTime(a.RevokedAt, b.RevokedAt) &&
		sameTime(a.SuspendedAt, b.SuspendedAt) && sameTime(a.ClaimedAt, b.ClaimedAt) && sameTime(a.ExpiresAt, b.ExpiresAt)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// signAll signs the credentials of results[todo] on every core, and makes
// their Data Integrity proofs with proof (when not nil).
func (s *Service) signAll(ctx context.Context, signer *signing.Signer, proof *prover, org domain.Organization, badge domain.Badge, now time.Time, results []BatchResult, todo []int) error {
	workers := min(runtime.GOMAXPROCS(0), len(todo))
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := &results[i].Issued.Credential
				payload, err := jsonMarshal(s.urls.BuildDocument(*c, org, badge))
				if err == nil {
					c.JWS, err = signer.Sign(payload)
				}
				if err == nil {
					c.Proof, err = s.prove(proof, payload, now)
				}
				if err != nil {
					errs <- fmt.Errorf("sign %s: %w", c.ID, err)
					return
				}
			}
		}()
	}
	var err error
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}
