package orgs

import "github.com/credence-dev/credence/ports"

// Store is what the organization service persists: organizations, their
// members, invitations, signing keys and API keys, the users they name,
// and the quota an organization shows. *sqlstore.Store satisfies it, as
// does any ports.Store.
type Store interface {
	ports.Transactor
	Orgs() ports.Orgs
	Members() ports.Members
	Invitations() ports.Invitations
	SigningKeys() ports.SigningKeys
	ProofKeys() ports.ProofKeys
	StatusLists() ports.StatusLists
	APIKeys() ports.APIKeys
	Users() ports.Users
	Quota() ports.Quota
	Activity() ports.ActivityLog
}
