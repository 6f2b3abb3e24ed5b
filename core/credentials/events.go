package credentials

import (
	"context"
	"encoding/json"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// Emitter writes webhook events in the transaction of the change they
// tell about, and relays their deliveries once it commits
// (webhooks.Service).
type Emitter interface {
	// Wants reports whether an event of one of the types ts of org would
	// be delivered anywhere now.
	Wants(ctx context.Context, org domain.Organization, ts ...domain.EventType) (bool, error)
	// Emit writes the events (test mode's when test) and their deliveries
	// in the transaction at hand and returns the deliveries' IDs.
	Emit(ctx context.Context, org domain.Organization, test bool, es ...domain.Event) ([]string, error)
	// Queued relays deliveries once their transaction committed.
	Queued(ctx context.Context, ids ...string)
}

// UseEmitter has the service write webhook events (credential.issued,
// renewed, claimed, revoked, suspended, unsuspended). Call it before the
// service serves.
func (s *Service) UseEmitter(e Emitter) { s.events = e }

// CredentialEvent is the data of a credential's webhook events: the
// credential as its owner's API shows it.
type CredentialEvent struct {
	ID               string     `json:"id"`
	OrgID            string     `json:"orgId"`
	BadgeID          string     `json:"badgeId"`
	Recipient        Recipient  `json:"recipient"`
	Status           string     `json:"status"`
	Public           bool       `json:"public"`
	Test             bool       `json:"test"`
	IssuedAt         time.Time  `json:"issuedAt"`
	ExpiresAt        *time.Time `json:"expiresAt,omitempty"`
	ClaimedAt        *time.Time `json:"claimedAt,omitempty"`
	RevokedAt        *time.Time `json:"revokedAt,omitempty"`
	RevocationReason string     `json:"revocationReason,omitempty"`
	SuspendedAt      *time.Time `json:"suspendedAt,omitempty"`
	SuspensionReason string     `json:"suspensionReason,omitempty"`
	SupersedesID     string     `json:"supersedesId,omitempty"`
	SupersededByID   string     `json:"supersededById,omitempty"`
	VerificationURL  string     `json:"verificationUrl"`
	CredentialURL    string     `json:"credentialUrl"`
}

// Recipient names a credential's recipient in its events.
type Recipient struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// credentialEvent is the event of type t about c.
func (s *Service) credentialEvent(t domain.EventType, c domain.Credential) (domain.Event, error) {
	data, err := json.Marshal(CredentialEvent{ID: string(c.ID), OrgID: c.OrgID, BadgeID: c.BadgeID,
		Recipient: Recipient{Name: c.RecipientName, Email: c.RecipientEmail}, Status: string(c.Status(s.clock.Now())),
		Public: c.Public, Test: c.Test, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, ClaimedAt: c.ClaimedAt,
		RevokedAt: c.RevokedAt, RevocationReason: c.RevocationReason, SuspendedAt: c.SuspendedAt, SuspensionReason: c.SuspensionReason,
		SupersedesID: string(c.SupersedesID), SupersededByID: string(c.SupersededByID),
		VerificationURL: s.urls.Verify(c.ID), CredentialURL: s.urls.Credential(c.ID)})
	return domain.Event{Type: t, SubjectID: string(c.ID), Payload: data}, err
}

// emit writes the events of types ts about the credentials cs (ts[i]
// about cs[i]) of org in the transaction at hand, with one Emit per mode
// (live, test); it returns the deliveries to relay once it commits.
func (s *Service) emit(ctx context.Context, org domain.Organization, ts []domain.EventType, cs ...domain.Credential) ([]string, error) {
	if s.events == nil || len(cs) == 0 {
		return nil, nil
	}
	var live, test []domain.Event
	for i, c := range cs {
		e, err := s.credentialEvent(ts[i], c)
		if err != nil {
			return nil, err
		}
		if c.Test {
			test = append(test, e)
		} else {
			live = append(live, e)
		}
	}
	var ids []string
	for _, mode := range []struct {
		test bool
		es   []domain.Event
	}{{false, live}, {true, test}} {
		got, err := s.events.Emit(ctx, org, mode.test, mode.es...)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// queued relays deliveries written by a transaction that committed.
func (s *Service) queued(ctx context.Context, ids []string) {
	if s.events != nil && len(ids) > 0 {
		s.events.Queued(ctx, ids...)
	}
}

// ExpiryWindow is how far back the announcer looks for expiries: a
// credential that expired longer ago without being announced (the
// announcer was down that long, or it expired before webhooks existed)
// is not announced.
const ExpiryWindow = 24 * time.Hour

// expiryBatch bounds the expiries one call announces.
const expiryBatch = 500

// AnnounceExpiries writes credential.expired for the credentials that
// expired since the last call (within ExpiryWindow), each once, in the
// transaction that marks it announced; it returns how many it announced.
// Every process's sweep calls it: of concurrent announcers of one
// expiry, one writes the event.
func (s *Service) AnnounceExpiries(ctx context.Context) (int, error) {
	if s.events == nil {
		return 0, nil
	}
	now := s.clock.Now()
	expired, err := s.store.Credentials().Expired(ctx, now.Add(-ExpiryWindow), now, expiryBatch)
	if err != nil || len(expired) == 0 {
		return 0, err
	}
	orgs := map[string]domain.Organization{}
	n := 0
	for _, c := range expired {
		var hooks []string
		err := s.store.WithinTx(ctx, func(ctx context.Context) error {
			hooks = nil
			first, err := s.store.Credentials().AnnounceExpiry(ctx, c.ID, s.now())
			if err != nil || !first {
				return err
			}
			org, ok := orgs[c.OrgID]
			if !ok {
				if org, err = s.store.Orgs().Get(ctx, c.OrgID); err != nil {
					return err
				}
				orgs[c.OrgID] = org
			}
			n++
			if c.RevokedAt != nil {
				return nil // revoked before it expired: its end was told then
			}
			hooks, err = s.emit(ctx, org, []domain.EventType{domain.EventCredentialExpired}, c)
			return err
		})
		if err != nil {
			return n, err
		}
		s.queued(ctx, hooks)
	}
	return n, nil
}
