package credentials

import "github.com/credence-dev/credence/ports"

// Store is what the credential service persists: credentials and the
// quota they count toward, the organizations, badges and signing keys
// they are issued under (and the badges' uploaded images), the status
// lists that publish their status, and the recipient mail written with them.
// *sqlstore.Store satisfies it, as does any ports.Store.
type Store interface {
	ports.Transactor
	Orgs() ports.Orgs
	Badges() ports.Badges
	Images() ports.Images
	SigningKeys() ports.SigningKeys
	ProofKeys() ports.ProofKeys
	Credentials() ports.Credentials
	StatusLists() ports.StatusLists
	VCRecords() ports.VCRecords
	Quota() ports.Quota
	Mails() ports.Mails
	Activity() ports.ActivityLog
}
