package accounts_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// A provisioned account is verified at once, mails nobody, signs in with
// its password (when it has one) and is an administrator when its email is
// one of the configured ones; a taken email or bad input changes nothing.
func TestProvision(t *testing.T) {
	storesWith(t, func(cfg *accounts.Config, _ ports.Clock) {
		cfg.AdminEmails = []string{"Ops@Example.com"}
	}, func(t *testing.T, e env) {
		ctx := t.Context()
		email := "olga-" + domain.NewID()[:6] + "@example.com"
		actor, err := e.svc.Provision(ctx, accounts.ProvisionInput{Email: "  " + email, Name: "Olga", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		if actor.UserEmail != email || actor.Admin {
			t.Fatalf("actor %+v: want the verified email %s, no administrator", actor, email)
		}
		if n := len(e.mail.to(email)); n != 0 {
			t.Fatalf("%d mails to a provisioned account, want none", n)
		}
		if _, err := e.login(t, email, password); err != nil {
			t.Fatalf("sign-in with the provisioned password: %v", err)
		}

		// Without a password it cannot sign in until a reset sets one.
		bare := "bare-" + domain.NewID()[:6] + "@example.com"
		if _, err := e.svc.Provision(ctx, accounts.ProvisionInput{Email: bare, Name: "Bare"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.login(t, bare, ""); domain.CodeOf(err) != domain.CodeUnauthenticated && domain.CodeOf(err) != domain.CodeValidation {
			t.Fatalf("sign-in of a password-less account: %v", err)
		}
		if _, err := e.login(t, bare, password); domain.CodeOf(err) != domain.CodeUnauthenticated {
			t.Fatalf("sign-in of a password-less account with a password: %v, want %s", err, domain.CodeUnauthenticated)
		}

		// And its sign-in takes the time of a real password check, as
		// one for an unknown email does, so the timing does not tell
		// which addresses have such accounts (a check skipped is 10-20
		// times faster than argon2id).
		took := func(email string) time.Duration {
			var runs []time.Duration
			for range 3 {
				start := time.Now()
				_, _ = e.login(t, email, password)
				runs = append(runs, time.Since(start))
			}
			slices.Sort(runs)
			return runs[1]
		}
		quiet := "quiet-" + domain.NewID()[:6] + "@example.com" // no failures counted yet
		if _, err := e.svc.Provision(ctx, accounts.ProvisionInput{Email: quiet, Name: "Quiet"}); err != nil {
			t.Fatal(err)
		}
		if bareTook, unknownTook := took(quiet), took("nobody-"+domain.NewID()[:6]+"@example.com"); bareTook < unknownTook*2/5 {
			t.Errorf("sign-in of a password-less account took %v, of an unknown email %v: the timing tells them apart", bareTook, unknownTook)
		}

		admin, err := e.svc.Provision(ctx, accounts.ProvisionInput{Email: "ops@example.com", Name: "Ops"})
		if err != nil {
			t.Fatal(err)
		}
		if !admin.Admin {
			t.Fatalf("actor %+v: ops@example.com is a configured administrator", admin)
		}

		if _, err := e.svc.Provision(ctx, accounts.ProvisionInput{Email: email, Name: "Again"}); !errors.Is(err, ports.ErrEmailTaken) {
			t.Fatalf("second provision of %s: %v, want EMAIL_TAKEN", email, err)
		}
		for _, in := range []accounts.ProvisionInput{
			{Email: "not an address", Name: "X"},
			{Email: "x-" + domain.NewID()[:6] + "@example.com", Name: ""},
			{Email: "y-" + domain.NewID()[:6] + "@example.com", Name: "Y", Password: "short"},
		} {
			if _, err := e.svc.Provision(ctx, in); domain.CodeOf(err) != domain.CodeValidation {
				t.Errorf("provision %+v: %v, want %s", in, err, domain.CodeValidation)
			}
			if _, err := e.store.Users().GetByEmail(ctx, domain.NormalizeEmail(in.Email)); !errors.Is(err, domain.ErrNotFound) {
				t.Errorf("provision %+v left an account (%v)", in, err)
			}
		}
	})
}
