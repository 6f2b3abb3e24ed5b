package accounts_test

import (
	"errors"
	"testing"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// A Go program embedding the core, without the HTTP API's own check, gets
// VALIDATION_FAILED naming the input for a control character or invalid
// UTF-8 in a sign-in email, a list filter or a cursor, on both stores
// (PostgreSQL refuses NUL and invalid UTF-8 in text, which would fail the
// query instead).
func TestControlCharactersAreRefusedByTheCore(t *testing.T) {
	stores(t, func(t *testing.T, e env) {
		ctx := t.Context()
		orgSvc, owner, o := e.ownedOrg(t, "Cora")
		admin := domain.Actor{UserID: owner.UserID, UserEmail: owner.UserEmail, Admin: true}
		creds, bulkSvc, badgeSvc := e.p.Credentials, e.p.Bulk, e.p.Badges

		for _, bad := range []string{"\x00", "a\x01b", "\x7f", "\u0085", "\xff"} {
			for _, tc := range []struct {
				location string
				call     func() error
			}{
				{"body.email", func() error {
					_, err := e.svc.Login(ctx, accounts.LoginInput{Email: "a" + bad + "@example.com", Password: password}, accounts.Client{IP: "198.51.100.4"})
					return err
				}},
				{"query.action", func() error {
					_, err := orgSvc.Activity(ctx, owner, o.ID, ports.ActivityFilter{Action: bad})
					return err
				}},
				{"query.actor", func() error {
					_, err := orgSvc.ExportActivity(ctx, owner, o.ID, ports.ActivityFilter{Actor: bad})
					return err
				}},
				{"query.target", func() error {
					_, err := orgSvc.AllActivity(ctx, admin, ports.ActivityFilter{Target: bad})
					return err
				}},
				{"query.orgId", func() error {
					_, err := orgSvc.ExportAllActivity(ctx, admin, ports.ActivityFilter{OrgID: bad})
					return err
				}},
				{"query.cursor", func() error {
					_, err := orgSvc.Activity(ctx, owner, o.ID, ports.ActivityFilter{Page: ports.Page{After: bad}})
					return err
				}},
				{"query.cursor", func() error {
					_, err := orgSvc.ListAll(ctx, admin, ports.OrgFilter{After: bad})
					return err
				}},
				{"query.cursor", func() error {
					_, err := badgeSvc.List(ctx, owner, o.ID, ports.Page{After: bad})
					return err
				}},
				{"query.cursor", func() error {
					_, err := bulkSvc.List(ctx, owner, o.ID, ports.Page{After: bad})
					return err
				}},
				{"query.email", func() error {
					_, err := creds.List(ctx, owner, ports.CredentialFilter{OrgID: o.ID, Email: bad + "@example.com"})
					return err
				}},
				{"query.cursor", func() error {
					_, err := creds.List(ctx, owner, ports.CredentialFilter{OrgID: o.ID, After: domain.CredentialID(bad)})
					return err
				}},
				{"query.cursor", func() error {
					_, err := creds.Mine(ctx, owner, ports.Page{After: bad})
					return err
				}},
			} {
				if tc.location == "body.email" && bad == "\xff" {
					continue // NormalizeEmail turns invalid UTF-8 into U+FFFD, which simply matches no account
				}
				err := tc.call()
				var ve *domain.ValidationError
				if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Location != tc.location {
					t.Errorf("%s holding %q: got %v, want VALIDATION_FAILED at %s", tc.location, bad, err, tc.location)
				}
			}
		}
	})
}
