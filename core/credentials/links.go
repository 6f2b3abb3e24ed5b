package credentials

import (
	"context"
	"fmt"
	"strings"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// maxLinks bounds the credentials one "retrieve my credentials" mail
// lists: newest first; the rest are on the recipient's "My credentials"
// page.
const maxLinks = 100

// Composers returns how the credential service's deferred mail is written
// at delivery, by kind: the links of an address's credentials, which
// accounts.Service.RequestCredentialLinks defers. Register each on the
// delivery of every process that delivers mail (work.Delivery.Compose).
func (s *Service) Composers() map[domain.MailKind]work.Composer {
	return map[domain.MailKind]work.Composer{domain.MailCredentialLinks: s.composeLinks}
}

// composeLinks writes the mail answering "retrieve my credentials": the
// verification link of every live credential issued to the address
// (test credentials are never mailed), or nothing when it has none. The
// request wrote the same deferred mail for every address; only here, in
// the worker, does it matter whether any credential exists.
func (s *Service) composeLinks(ctx context.Context, to string, _ []byte) (work.Composition, error) {
	var lines []string
	more := false
	after := ""
	for len(lines) < maxLinks {
		cs, err := s.store.Credentials().ListByEmail(ctx, to, ports.Page{After: after, Limit: maxLinks})
		if err != nil {
			return work.Composition{}, err
		}
		for _, c := range cs {
			if c.Test {
				continue
			}
			if len(lines) == maxLinks {
				more = true
				break
			}
			badge, issuer := Describe(c)
			lines = append(lines, fmt.Sprintf("- %s, from %s (%s):\n  %s", badge, issuer, c.Status(s.clock.Now()), s.urls.Verify(c.ID)))
		}
		if len(cs) < maxLinks {
			break
		}
		after = string(cs[len(cs)-1].ID)
	}
	if len(lines) == 0 {
		return work.Composition{Dropped: "no credentials"}, nil
	}
	text := "Hello,\n\nSomeone (we hope you) asked for the links of the credentials issued to this address. Here they are:\n\n" +
		strings.Join(lines, "\n") + "\n\n"
	if more {
		text += fmt.Sprintf("These are the newest %d. Sign in with this address to see them all:\n%s\n\n", maxLinks, s.urls.join("/me"))
	}
	text += "Sign up or sign in with this address to claim them:\n" + s.urls.join("/me") + "\n\nIf you did not ask, ignore this email.\n"
	return work.Composition{Subject: "Your Credence credentials", Text: text}, nil
}

// Describe returns the badge and issuer names a credential was signed
// with, read from its signed document: what a recipient knows it by.
// A credential whose document cannot be read is named by its ID.
func Describe(c domain.Credential) (badge, issuer string) {
	_, payload, err := signing.Parse([]byte(c.JWS))
	if err == nil {
		if d, err := ParseDocument(payload); err == nil && d.CredentialSubject.Achievement.Name != "" {
			return d.CredentialSubject.Achievement.Name, d.Issuer.Name
		}
	}
	return string(c.ID), "its issuer"
}
