package accounts

import (
	"context"

	"github.com/credence-dev/credence/core/domain"
)

// linksInput is what a "retrieve my credentials" request records: nothing
// but the address the mail goes to.
type linksInput struct{}

// RequestCredentialLinks mails email the links of the credentials issued
// to it ("retrieve my credentials"). Like a password reset it answers the
// same, after the same work, whatever the email: it writes one deferred
// mail of kind domain.MailCredentialLinks within the address's limit
// (Config.EmailLimit, shared with the other mail asked for an address),
// and only its composition, in the worker, looks the credentials up (the
// credential service composes it: credentials.Service.Composers). It
// lives here, beside the other mail people ask for by address, so that
// they share one limit and one way of not telling who has what.
func (s *Service) RequestCredentialLinks(ctx context.Context, email string) error {
	return s.requestMail(ctx, email, domain.MailCredentialLinks, linksInput{})
}
