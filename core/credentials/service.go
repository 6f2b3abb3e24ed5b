// Package credentials holds the credential use cases: preflight, issue
// (with the rules of issuing again and the monthly quota), revoke, claim,
// listing, verification by ID or of a presented file, and the public
// documents of issuers (profile, JWKS, did:web, achievements).
package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Relay hands work written by a committed transaction to the queue.
type Relay interface {
	MailsQueued(ctx context.Context, ids ...string)
	// StatusListsChanged publishes the status lists again.
	StatusListsChanged(ctx context.Context, ids ...string)
}

// Service runs the credential use cases.
type Service struct {
	store   Store
	clock   ports.Clock
	relay   Relay
	cipher  ports.KeyCipher
	plans   domain.Plans
	urls    URLs
	guard   access.Guard
	log     *slog.Logger
	signers sync.Map // signing key ID → *signing.Signer
	provers sync.Map // proof key ID → *prover
	canon   ports.Canonicalizer
	// contexts are the issue contexts the one-step path decides on
	// without reading (each checked as it is written).
	contexts contexts
	// tally counts verifications (see UseTally); caches keep what
	// verifying finds that cannot change.
	tally  *work.Tally
	caches verifyCaches
	// events writes webhook events (see UseEmitter); nil: none.
	events Emitter
}

// New returns a credential service publishing under urls. Recipient mail
// is written to the store's outbox with the credential and handed to relay
// after commit.
func New(store Store, clock ports.Clock, relay Relay, cipher ports.KeyCipher, plans domain.Plans, urls URLs, log *slog.Logger) *Service {
	return &Service{store: store, clock: clock, relay: relay, cipher: cipher, plans: plans, urls: urls, log: log,
		guard: access.Guard{Store: store, Plans: plans}, tally: work.NewTally(store, log, 0), caches: newVerifyCaches()}
}

// UseTally makes verifications count in t, the tally the organization
// service reads usage from (core/platform shares one): call it before
// serving. Until then they count in a tally of the service's own, added to
// the store when Tally().Run or Tally().Flush is called.
func (s *Service) UseTally(t *work.Tally) { s.tally = t }

// Tally returns the tally verifications count in.
func (s *Service) Tally() *work.Tally { return s.tally }

// URLs returns the public URL scheme the service signs with.
func (s *Service) URLs() URLs { return s.urls }

func (s *Service) now() time.Time { return domain.Truncate(s.clock.Now()) }

// Preflight is the pre-issue state of a badge and recipient email.
type Preflight struct {
	State             domain.IssueState
	Existing          *domain.Credential
	CountsTowardQuota bool
}

// Preflight tells what issuing the badge to email would do, without doing it.
func (s *Service) Preflight(ctx context.Context, actor domain.Actor, orgID, badgeID, email string) (Preflight, error) {
	email = domain.NormalizeEmail(email)
	var v domain.Validator
	v.Check(domain.ValidEmail(email), "body.email", "email must be a valid address", email)
	v.Check(domain.IsID(badgeID), "body.badgeId", "badgeId must be a badge ID", badgeID)
	if err := v.Err(); err != nil {
		return Preflight{}, err
	}
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermIssue); err != nil {
		return Preflight{}, err
	}
	if _, err := s.store.Badges().Get(ctx, orgID, badgeID); err != nil {
		return Preflight{}, err
	}
	now := s.clock.Now()
	test := actor.APIKeyMode == domain.APIKeyTest
	cur, err := s.current(ctx, badgeID, email, test)
	if err != nil {
		return Preflight{}, err
	}
	counted, err := s.store.Quota().Counted(ctx, orgID, domain.MonthStart(now), email)
	if err != nil {
		return Preflight{}, err
	}
	return Preflight{State: domain.PreIssueState(cur, now), Existing: cur, CountsTowardQuota: !counted && !test}, nil
}

func (s *Service) current(ctx context.Context, badgeID, email string, test bool) (*domain.Credential, error) {
	c, err := s.store.Credentials().Current(ctx, badgeID, email, test)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// IssueInput is one credential to issue.
type IssueInput struct {
	BadgeID   string
	Recipient domain.Recipient
	Public    *bool // default true
}

// Issued is the outcome of an issue: the new credential, the pre-issue
// state it was issued in, and the earlier credential it superseded.
type Issued struct {
	Credential domain.Credential
	State      domain.IssueState
	Previous   *domain.Credential
}

// maxIssueAttempts bounds retries after a race with a concurrent issuer
// (whose credential then decides the state) or a credential ID collision.
// Retries take the recipient lock, so a retry only loses to a first attempt
// that started meanwhile.
const maxIssueAttempts = 8

// Issue signs and stores a credential, applying the rules of issuing again
// and the monthly quota, and logs the issue in the activity log, all in
// one atomic step. The signature is made before it so that the step stays
// short. The common issue, a recipient's first credential of a badge that
// has issued before, is one statement on PostgreSQL (see issueOnce).
func (s *Service) Issue(ctx context.Context, actor domain.Actor, orgID string, in IssueInput) (Issued, error) {
	return s.issue(ctx, actor, orgID, in, true, nil)
}

// record logs actor's action on a credential of orgID (joining ctx's
// transaction).
func (s *Service) record(ctx context.Context, actor domain.Actor, orgID string, action domain.Action, id domain.CredentialID, detail string) error {
	return s.store.Activity().Record(ctx, domain.NewActivity(actor, orgID, action, "credential", string(id), detail, s.now()))
}

// issuedActivity is the activity entry of an issue.
func issuedActivity(actor domain.Actor, is Issued, now time.Time) domain.Activity {
	c := is.Credential
	return domain.NewActivity(actor, c.OrgID, domain.ActCredentialIssued, "credential", string(c.ID),
		fmt.Sprintf("%s to %s (%s)", c.BadgeID, c.RecipientEmail, is.State), now)
}

// IssueWith is Issue running within(ctx, issued) inside the issuing
// transaction, so that what it writes commits with the credential or not
// at all (bulk issuance records the row's outcome there). An error from
// within rolls the issue back and is returned as it is. Unlike Issue it
// logs no activity: bulk jobs log their submission, not each row.
func (s *Service) IssueWith(ctx context.Context, actor domain.Actor, orgID string, in IssueInput, within func(ctx context.Context, is Issued) error) (Issued, error) {
	return s.issue(ctx, actor, orgID, in, false, within)
}

func (s *Service) issue(ctx context.Context, actor domain.Actor, orgID string, in IssueInput, logged bool, within func(ctx context.Context, is Issued) error) (Issued, error) {
	rcpt, err := domain.NormalizeRecipient(in.Recipient)
	var v domain.Validator
	v.Check(domain.IsID(in.BadgeID), "body.badgeId", "badgeId must be a badge ID", in.BadgeID)
	if err := domain.JoinValidation(err, v.Err()); err != nil {
		return Issued{}, err
	}
	var out issued
	for attempt := 1; ; attempt++ {
		out, err = s.issueOnce(ctx, actor, orgID, in, rcpt, attempt > 1, logged, within)
		if err == nil || !errors.Is(err, errRetry) {
			break
		}
		if attempt == maxIssueAttempts {
			err = domain.Errorf(domain.CodeConcurrentIssue, "other issues to %s of this badge kept overtaking this one; retry", rcpt.Email)
			break
		}
	}
	if err != nil {
		return Issued{}, err
	}
	if out.mail != nil {
		s.relay.MailsQueued(ctx, out.mail.ID)
	}
	return out.Issued, nil
}

var errRetry = errors.New("retry issue")

// issued is an Issued with the mail it queued.
type issued struct {
	Issued
	mail *domain.Mail
}

// issueOnce signs and stores one credential, logging the activity when
// logged. Most issues meet no concurrent issue to the same recipient and
// run without a lock; after a lost race (locked) the recipient lock makes
// issues to that recipient take turns, each seeing the one before.
func (s *Service) issueOnce(ctx context.Context, actor domain.Actor, orgID string, in IssueInput, rcpt domain.Recipient, locked, logged bool, within func(context.Context, Issued) error) (issued, error) {
	// The one-step path may decide on the context of the last issue that
	// took it: InsertFirst checks it is still the store's as it writes.
	fast := !locked && within == nil
	key := contextKey{orgID, in.BadgeID, actor.UserID}
	var g Gate
	ic, cached := ports.IssueContext{}, false
	if fast {
		if err := access.Check(actor, orgID); err != nil {
			return issued{}, err
		}
		if ic, cached = s.contexts.get(key, s.clock.Now()); cached {
			var err error
			if g, err = s.decide(actor, in.BadgeID, ic, nil); err != nil || !g.Badge.Locked {
				cached = false // refusals and the full path read afresh
			}
		}
	}
	if !cached {
		var err error
		if g, ic, err = s.gate(ctx, actor, orgID, in.BadgeID, nil); err != nil {
			return issued{}, err
		}
	}
	org, badge, signer := g.Org, g.Badge, g.Signer
	now := s.now()
	c := domain.Credential{
		ID: domain.NewCredentialID(), OrgID: org.ID, BadgeID: badge.ID,
		RecipientName: rcpt.Name, RecipientEmail: rcpt.Email,
		IssuedAt: now, ExpiresAt: badge.ExpiryFrom(now), Public: in.Public == nil || *in.Public,
		Test: actor.APIKeyMode == domain.APIKeyTest, KeyID: signer.KID(), CreatedBy: actor.ID(),
	}
	proof, err := s.prover(ctx, org)
	if err != nil {
		return issued{}, err
	}
	slots, err := s.slots(ctx, org, signer, 1)
	if err != nil {
		return issued{}, err
	}
	c.Slot = &slots[0]
	var payload []byte
	if c.JWS, payload, err = s.sign(signer, c, org, badge); err != nil {
		return issued{}, err
	}
	if c.Proof, err = s.prove(proof, payload, now); err != nil {
		return issued{}, err
	}
	plan := s.plans.Get(org.Plan)
	// Most issues start a recipient's chain of an already-used badge: one
	// atomic store step does them, activity entry and mail included, and
	// checks that the context decided on still holds (one statement on
	// PostgreSQL). The full rules run in a transaction when it declines,
	// on retries, and when within must join the transaction.
	if fast && s.events != nil && badge.Locked {
		// An issue that webhooks want writes its event in its
		// transaction: not the one-statement path.
		wanted, err := s.events.Wants(ctx, org, domain.EventCredentialIssued, domain.EventCredentialRenewed, domain.EventCredentialRevoked)
		if err != nil {
			return issued{}, err
		}
		fast = !wanted
	}
	if badge.Locked && fast {
		is := Issued{Credential: c, State: domain.StateNew}
		f := ports.FirstIssue{Credential: c, Month: domain.MonthStart(now), Limit: plan.MonthlyRecipients,
			Mail: s.credentialMail(org, badge, is, now), Version: ic.Version, UserID: actor.UserID}
		if logged {
			a := issuedActivity(actor, is, now)
			f.Activity = &a
		}
		ok, err := s.store.Credentials().InsertFirst(ctx, f)
		switch {
		case errors.Is(err, ports.ErrContextChanged):
			s.contexts.drop(key)
			return issued{}, errRetry // decide again on what the store holds now
		case err != nil:
			return issued{}, fmt.Errorf("issue %s: %w", c.ID, err)
		case ok:
			s.contexts.put(key, ic, s.clock.Now())
			return issued{is, f.Mail}, nil
		}
	}
	var out issued
	var changed, hooks []string
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		changed, hooks = nil, nil
		if cached {
			// Decided on a remembered context: it must still hold.
			held, err := s.store.Credentials().IssueContext(ctx, orgID, in.BadgeID, actor.UserID)
			if err != nil {
				return err
			}
			if held.Version != ic.Version {
				return ports.ErrContextChanged
			}
		}
		if locked {
			if err := s.store.Credentials().LockRecipient(ctx, badge.ID, rcpt.Email); err != nil {
				return err
			}
		}
		if !c.Test {
			if _, err := s.store.Quota().Consume(ctx, org.ID, domain.MonthStart(now), rcpt.Email, plan.MonthlyRecipients); err != nil {
				return err
			}
		}
		is, err := s.place(ctx, &c, now)
		if err != nil {
			return err
		}
		if is.State == domain.StateActiveTimeBound && is.Previous != nil {
			// The renewal revoked the previous credential.
			if changed, err = s.statusChanged(ctx, *is.Previous); err != nil {
				return err
			}
		}
		// A locked badge's signed fields never change, so what was signed
		// stands; the first issue locks the badge as it was read, or retries
		// when it was edited meanwhile.
		if !badge.Locked {
			if err := s.store.Badges().Lock(ctx, badge.ID, badge.UpdatedAt); errors.Is(err, domain.ErrInvalidState) {
				return errRetry
			} else if err != nil {
				return err
			}
		}
		out.Issued = Issued{Credential: c, State: is.State, Previous: is.Previous}
		types, subjects := []domain.EventType{domain.EventCredentialIssued}, []domain.Credential{c}
		if is.State != domain.StateNew {
			types[0] = domain.EventCredentialRenewed
		}
		if is.State == domain.StateActiveTimeBound && is.Previous != nil {
			// The renewal revoked it (not one revoked long before).
			types, subjects = append(types, domain.EventCredentialRevoked), append(subjects, *is.Previous)
		}
		if hooks, err = s.emit(ctx, org, types, subjects...); err != nil {
			return err
		}
		if out.mail = s.credentialMail(org, badge, out.Issued, now); out.mail != nil {
			if err := s.store.Mails().Create(ctx, *out.mail); err != nil {
				return err
			}
		}
		if logged {
			if err := s.store.Activity().Record(ctx, issuedActivity(actor, out.Issued, s.now())); err != nil {
				return err
			}
		}
		if within != nil {
			return within(ctx, out.Issued)
		}
		return nil
	})
	var dup *domain.DuplicateError
	switch {
	case errors.Is(err, ports.ErrContextChanged):
		s.contexts.drop(key)
		return issued{}, errRetry // decide again on what the store holds now
	case errors.As(err, &dup) && dup.Existing != "" && (c.SupersedesID == "" || dup.Existing != c.SupersedesID):
		// A concurrent issuer won the recipient's slot: decide again
		// against its credential unless that one is active non-expiring.
		winner, gerr := s.store.Credentials().Get(ctx, dup.Existing)
		if gerr == nil && domain.PreIssueState(&winner, s.clock.Now()) != domain.StateActiveNonExpiring {
			return issued{}, errRetry
		}
		return issued{}, err
	case errors.Is(err, ports.ErrIDTaken):
		return issued{}, errRetry
	case err != nil:
		return issued{}, fmt.Errorf("issue %s: %w", c.ID, err)
	}
	if len(changed) > 0 {
		s.relay.StatusListsChanged(context.WithoutCancel(ctx), changed...)
	}
	s.queued(ctx, hooks)
	return out, nil
}

// place stores c at the head of the recipient's chain for its badge. Most
// issues start a chain, so c is first inserted as it is: one statement. A
// head already in place answers with the duplicate error naming it, and the
// rules of issuing again decide from there (link, supersede, revoke, or
// refuse an active non-expiring one).
func (s *Service) place(ctx context.Context, c *domain.Credential, now time.Time) (domain.Issuance, error) {
	err := s.store.Credentials().Insert(ctx, *c)
	var dup *domain.DuplicateError
	if err == nil || !errors.As(err, &dup) {
		return domain.Issuance{State: domain.StateNew}, err
	}
	head, err := s.store.Credentials().GetForUpdate(ctx, dup.Existing)
	if err != nil {
		return domain.Issuance{}, err
	}
	is, err := domain.PlanIssue(c, &head, now)
	if err != nil {
		return domain.Issuance{}, err
	}
	if is.Previous != nil {
		if err := s.store.Credentials().Update(ctx, *is.Previous); err != nil {
			return domain.Issuance{}, err
		}
	}
	return is, s.store.Credentials().Insert(ctx, *c)
}

// sign returns c's compact JWS and its payload.
func (s *Service) sign(signer *signing.Signer, c domain.Credential, org domain.Organization, badge domain.Badge) (string, []byte, error) {
	payload, err := jsonMarshal(s.urls.BuildDocument(c, org, badge))
	if err != nil {
		return "", nil, err
	}
	jws, err := signer.Sign(payload)
	return jws, payload, err
}

// signer returns a cached signer for the key; the private key is decrypted
// once per process.
func (s *Service) signer(key domain.SigningKey, orgSlug string) (*signing.Signer, error) {
	kid := signing.KeyID(s.urls.DID(orgSlug), key.Fragment)
	if v, ok := s.signers.Load(key.ID); ok && v.(*signing.Signer).KID() == kid {
		return v.(*signing.Signer), nil
	}
	priv, err := s.cipher.Decrypt(key.PrivateEnc)
	if err != nil {
		return nil, fmt.Errorf("decrypt signing key %s: %w", key.ID, err)
	}
	signer, err := signing.NewSigner(priv, key.Algorithm, kid)
	if err != nil {
		return nil, err
	}
	s.signers.Store(key.ID, signer)
	return signer, nil
}

// Revoke revokes a credential of the organization for a reason.
func (s *Service) Revoke(ctx context.Context, actor domain.Actor, orgID string, id domain.CredentialID, reason string) (domain.Credential, error) {
	return s.changeStatus(ctx, actor, orgID, id, domain.ActCredentialRevoked, reason, func(c *domain.Credential) error {
		return c.Revoke(reason, s.now())
	})
}

// Suspend suspends a credential of the organization for a reason, until
// Unsuspend: it verifies as suspended, everywhere its status list is read.
func (s *Service) Suspend(ctx context.Context, actor domain.Actor, orgID string, id domain.CredentialID, reason string) (domain.Credential, error) {
	return s.changeStatus(ctx, actor, orgID, id, domain.ActCredentialSuspended, reason, func(c *domain.Credential) error {
		return c.Suspend(reason, s.now())
	})
}

// Unsuspend lifts a credential's suspension.
func (s *Service) Unsuspend(ctx context.Context, actor domain.Actor, orgID string, id domain.CredentialID) (domain.Credential, error) {
	return s.changeStatus(ctx, actor, orgID, id, domain.ActCredentialUnsuspended, "", func(c *domain.Credential) error {
		return c.Unsuspend()
	})
}

// changeStatus applies change to a credential of the organization (owners,
// admins and API keys may), and in the same transaction logs the
// activity and marks the credential's status list changed; once that
// commits, the list is published again.
func (s *Service) changeStatus(ctx context.Context, actor domain.Actor, orgID string, id domain.CredentialID, action domain.Action, detail string, change func(c *domain.Credential) error) (domain.Credential, error) {
	var out domain.Credential
	var changed, hooks []string
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		org, err := s.guard.Org(ctx, actor, orgID, domain.PermRevoke)
		if err != nil {
			return err
		}
		c, err := s.orgCredential(ctx, orgID, id, true)
		if err != nil {
			return err
		}
		if err := change(&c); err != nil {
			return err
		}
		out = c
		if err := s.store.Credentials().Update(ctx, c); err != nil {
			return err
		}
		if changed, err = s.statusChanged(ctx, c); err != nil {
			return err
		}
		if hooks, err = s.emit(ctx, org, []domain.EventType{actionEvents[action]}, c); err != nil {
			return err
		}
		return s.record(ctx, actor, orgID, action, c.ID, detail)
	})
	if err == nil && len(changed) > 0 {
		s.relay.StatusListsChanged(context.WithoutCancel(ctx), changed...)
	}
	if err == nil {
		s.queued(ctx, hooks)
	}
	return out, err
}

// actionEvents are the webhook events of the status changes.
var actionEvents = map[domain.Action]domain.EventType{
	domain.ActCredentialRevoked:     domain.EventCredentialRevoked,
	domain.ActCredentialSuspended:   domain.EventCredentialSuspended,
	domain.ActCredentialUnsuspended: domain.EventCredentialUnsuspended,
}

// orgCredential reads a credential of the organization; lock holds it
// until the transaction ends (to change it).
func (s *Service) orgCredential(ctx context.Context, orgID string, id domain.CredentialID, lock bool) (domain.Credential, error) {
	if _, err := domain.ParseCredentialID(string(id)); err != nil {
		return domain.Credential{}, err
	}
	get := s.store.Credentials().Get
	if lock {
		get = s.store.Credentials().GetForUpdate
	}
	c, err := get(ctx, id)
	if err != nil {
		return domain.Credential{}, err
	}
	if c.OrgID != orgID {
		return domain.Credential{}, fmt.Errorf("credential %s: %w", id, domain.ErrNotFound)
	}
	return c, nil
}

// Get returns a credential of the organization.
func (s *Service) Get(ctx context.Context, actor domain.Actor, orgID string, id domain.CredentialID) (domain.Credential, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermCredentialsRead); err != nil {
		return domain.Credential{}, err
	}
	return s.orgCredential(ctx, orgID, id, false)
}

// List pages through the organization's credentials.
func (s *Service) List(ctx context.Context, actor domain.Actor, f ports.CredentialFilter) ([]domain.Credential, error) {
	if _, err := s.guard.Org(ctx, actor, f.OrgID, domain.PermCredentialsRead); err != nil {
		return nil, err
	}
	var v domain.Validator
	v.Check(f.Status == "" || domain.ValidStatus(f.Status), "query.status", "status must be pending, valid, expired, revoked or suspended", f.Status)
	v.Check(f.BadgeID == "" || domain.IsID(f.BadgeID), "query.badgeId", "badgeId must be a badge ID", f.BadgeID)
	v.NoControls("query.email", f.Email)
	v.NoControls("query.cursor", string(f.After))
	if err := v.Err(); err != nil {
		return nil, err
	}
	f.Email = domain.NormalizeEmail(f.Email)
	f.Now = s.clock.Now()
	return s.store.Credentials().List(ctx, f)
}

// Mine returns the credentials issued to the signed-in user's verified email.
func (s *Service) Mine(ctx context.Context, actor domain.Actor, page ports.Page) ([]domain.Credential, error) {
	if err := access.RequireUser(actor); err != nil {
		return nil, err
	}
	if err := domain.CheckCursor(page.After); err != nil {
		return nil, err
	}
	if actor.UserEmail == "" {
		return []domain.Credential{}, nil
	}
	return s.store.Credentials().ListByEmail(ctx, actor.UserEmail, page)
}

// Claim marks a credential claimed by its signed-in recipient.
func (s *Service) Claim(ctx context.Context, actor domain.Actor, id domain.CredentialID) (domain.Credential, error) {
	if err := access.RequireUser(actor); err != nil {
		return domain.Credential{}, err
	}
	if actor.UserEmail == "" {
		return domain.Credential{}, domain.ErrEmailNotVerified
	}
	if _, err := domain.ParseCredentialID(string(id)); err != nil {
		return domain.Credential{}, err
	}
	var out domain.Credential
	var hooks []string
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		c, err := s.store.Credentials().GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		if err := c.Claim(actor.UserEmail, s.now()); err != nil {
			return err
		}
		out = c
		if err := s.store.Credentials().Update(ctx, c); err != nil {
			return err
		}
		if s.events != nil {
			org, err := s.store.Orgs().Get(ctx, c.OrgID)
			if err != nil {
				return err
			}
			if hooks, err = s.emit(ctx, org, []domain.EventType{domain.EventCredentialClaimed}, c); err != nil {
				return err
			}
		}
		return s.record(ctx, actor, c.OrgID, domain.ActCredentialClaimed, c.ID, "")
	})
	if err == nil {
		s.queued(ctx, hooks)
	}
	return out, err
}
