package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// retrieveAnswer is the one answer of retrieve-credentials, whatever the
// address: it tells nobody whether the address holds credentials.
const retrieveAnswer = "if credentials were issued to that address, a mail with their links is on its way"

func (s *server) registerRecipients(api huma.API) {
	retrieve := authLimited(withStatus(publicOp(op(http.MethodPost, "/api/v1/recipients/retrieve", "retrieve-credentials",
		"Mail an address the links of the credentials issued to it", "Recipients")), 202))
	retrieve.Description = "Always 202 with the same body, after the same work, whether or not any credential was issued to " +
		"`email` (test credentials are never mailed): the mail is written at delivery, and dropped when there is nothing to list. " +
		"Limited like the other mail-sending requests: 3 per 15 minutes per address (shared with resend-verification and " +
		"password-reset) and, with sign-up, 30 per 15 minutes per client address; over either, 429 RATE_LIMITED with Retry-After."
	retrieve.Errors = []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests}
	huma.Register(api, retrieve, func(ctx context.Context, in *emailIn) (*messageOut, error) {
		if err := s.Accounts.RequestCredentialLinks(ctx, in.Body.Email); err != nil {
			return nil, s.from(ctx, err)
		}
		return message(retrieveAnswer), nil
	})
}
