package badges

import "github.com/credence-dev/credence/ports"

// Store is what the badge service persists: badges, and the organizations
// that decide who may change them. *sqlstore.Store satisfies it, as does
// any ports.Store.
type Store interface {
	ports.Transactor
	Orgs() ports.Orgs
	Badges() ports.Badges
	Activity() ports.ActivityLog
}
