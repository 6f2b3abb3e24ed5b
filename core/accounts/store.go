package accounts

import "github.com/credence-dev/credence/ports"

// Store is what the account service persists: accounts, their sign-ins
// and devices, and the organization records that decide an actor's
// rights (memberships through Orgs, API keys, pending invitations).
// *sqlstore.Store satisfies it, as does any ports.Store.
type Store interface {
	ports.Transactor
	Users() ports.Users
	Sessions() ports.Sessions
	EmailTokens() ports.EmailTokens
	LoginGuards() ports.LoginGuards
	MFAChallenges() ports.MFAChallenges
	Devices() ports.Devices
	Orgs() ports.Orgs
	Invitations() ports.Invitations
	APIKeys() ports.APIKeys
	Activity() ports.ActivityLog
}
