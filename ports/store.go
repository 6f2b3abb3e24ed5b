package ports

import (
	"context"
)

// Transactor runs fn as one unit of work; store calls made with fn's ctx
// join it. A WithinTx inside another joins the outer one. When fn returns
// an error, every write made through its ctx is rolled back.
type Transactor interface {
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Store is everything the core persists, behind one Transactor.
//
// Errors (checked by contract-tests/store): a Get of an unknown ID returns
// an error matching domain.ErrNotFound; each method documents the others.
// Any method returns an error matching ErrUnavailable when the database
// cannot be reached, and the same store serves again once it is back.
type Store interface {
	Transactor
	Users() Users
	Sessions() Sessions
	EmailTokens() EmailTokens
	LoginGuards() LoginGuards
	MFAChallenges() MFAChallenges
	Devices() Devices
	Orgs() Orgs
	Members() Members
	Invitations() Invitations
	SigningKeys() SigningKeys
	ProofKeys() ProofKeys
	APIKeys() APIKeys
	Badges() Badges
	Images() Images
	Credentials() Credentials
	StatusLists() StatusLists
	VCRecords() VCRecords
	Webhooks() Webhooks
	Quota() Quota
	Bulk() BulkJobs
	Mails() Mails
	Events() Events
	Activity() ActivityLog
	Retention() Retention
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	Close() error
}
