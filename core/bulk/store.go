package bulk

import "github.com/credence-dev/credence/ports"

// Store is what bulk issuance persists beyond the credential service it
// issues through: jobs and their rows and events, and the reads that
// validate a file (badges, keys, current credentials, quota).
// *sqlstore.Store satisfies it, as does any ports.Store.
type Store interface {
	ports.Transactor
	Orgs() ports.Orgs
	Badges() ports.Badges
	SigningKeys() ports.SigningKeys
	Credentials() ports.Credentials
	Quota() ports.Quota
	Bulk() ports.BulkJobs
	Events() ports.Events
	Activity() ports.ActivityLog
}
