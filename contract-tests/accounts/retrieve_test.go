package accounts_test

import (
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/memlimit"
	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// "Retrieve my credentials" is one of the mails an address can be sent on
// request: it shares the address's limit with verification resends and
// password resets (3 per 15 minutes here), whatever the address, and a
// refusal says when to try again.
func TestRetrieveSharesTheMailRequestLimit(t *testing.T) {
	storesWith(t, func(cfg *accounts.Config, c ports.Clock) {
		cfg.Limiter = memlimit.New(memlimit.Options{Clock: c})
		cfg.EmailLimit = ports.Limit{Rate: 3, Period: 15 * time.Minute}
	}, func(t *testing.T, e env) {
		ctx := t.Context()
		for _, email := range []string{e.signUp(t, "Rita"), "ghost-" + domain.NewID()[:6] + "@example.com"} {
			if err := e.svc.RequestPasswordReset(ctx, email); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := e.svc.RequestCredentialLinks(ctx, email); err != nil {
					t.Fatal(err)
				}
			}
			err := e.svc.RequestCredentialLinks(ctx, email)
			var rl *domain.RateLimitError
			if domain.CodeOf(err) != domain.CodeRateLimited || !errors.As(err, &rl) || !rl.RetryAt.After(e.clock.Now()) {
				t.Fatalf("fourth mail request for %s: %v, want RATE_LIMITED with a retry time", email, err)
			}
		}
		if err := e.svc.RequestCredentialLinks(ctx, "not an email"); domain.CodeOf(err) != domain.CodeValidation {
			t.Fatalf("retrieve for a malformed address: %v, want VALIDATION_FAILED", err)
		}
	})
}
