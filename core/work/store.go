package work

import "github.com/credence-dev/credence/ports"

// MailStore is what delivery and the outbox persist: the mail outbox.
// *sqlstore.Store satisfies it, as does any ports.Store.
type MailStore interface {
	ports.Transactor
	Mails() ports.Mails
}

// DispatchStore is what the dispatcher reads and prunes: mail, bulk jobs,
// status lists and webhook deliveries to relay again, and what housekeeping deletes. *sqlstore.Store
// satisfies it, as does any ports.Store.
type DispatchStore interface {
	Mails() ports.Mails
	Bulk() ports.BulkJobs
	StatusLists() ports.StatusLists
	Webhooks() ports.Webhooks
	Retention() ports.Retention
}
