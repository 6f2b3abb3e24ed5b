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
	// Emit writes the event and its deliveries in the transaction at
	// hand and returns the deliveries' IDs.
	Emit(ctx context.Context, org domain.Organization, e domain.Event, test bool) ([]string, error)
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
// about cs[i]) of org in the transaction at hand; it returns the
// deliveries to relay once it commits.
func (s *Service) emit(ctx context.Context, org domain.Organization, ts []domain.EventType, cs ...domain.Credential) ([]string, error) {
	if s.events == nil {
		return nil, nil
	}
	var ids []string
	for i, c := range cs {
		e, err := s.credentialEvent(ts[i], c)
		if err != nil {
			return nil, err
		}
		got, err := s.events.Emit(ctx, org, e, c.Test)
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
