package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
)

// ResendCooldown is how long after a delivered credential mail the issuer
// must wait to send it again; a failed last send waives it.
const ResendCooldown = 7 * 24 * time.Hour

// MailCredentialResent is the kind of a mail sent again on request.
const MailCredentialResent domain.MailKind = "credential.resent"

// credentialMail is the mail telling the recipient of an issue, or nil
// when none goes out (recipient mail switched off, or a test credential).
// It is due at once but left to the relay for work.RelayGrace.
func (s *Service) credentialMail(org domain.Organization, badge domain.Badge, is Issued, now time.Time) *domain.Mail {
	c := is.Credential
	if !org.EmailsEnabled || c.Test {
		return nil
	}
	m := &domain.Mail{ID: domain.NewID(), OrgID: org.ID, CredentialID: c.ID, Kind: domain.MailCredentialIssued,
		To: c.RecipientEmail, Status: domain.MailQueued, CreatedAt: now, NextAttempt: now.Add(work.RelayGrace)}
	m.Subject, m.Text = s.issuedText(org, badge, c)
	if is.Previous != nil {
		m.Kind = domain.MailCredentialRenewed
		m.Subject = fmt.Sprintf("Your %s credential has been renewed", badge.Name)
		m.Text = fmt.Sprintf("Hello %s,\n\n%s has renewed your credential \"%s\". The new credential is %s; the earlier one (%s) is now %s.\n\n%sView and verify it here:\n%s\n",
			c.RecipientName, org.Name, badge.Name, c.ID, is.Previous.ID, is.Previous.Status(c.IssuedAt), badgeImageLine(badge), s.urls.Verify(c.ID))
	}
	return m
}

func (s *Service) issuedText(org domain.Organization, badge domain.Badge, c domain.Credential) (subject, text string) {
	return "You've earned a new credential: " + badge.Name,
		fmt.Sprintf("Hello %s,\n\n%s has issued you the credential \"%s\" (%s).\n\n%sView and verify it here:\n%s\n",
			c.RecipientName, org.Name, badge.Name, c.ID, badgeImageLine(badge), s.urls.Verify(c.ID))
}

// badgeImageLine is the paragraph of a credential mail that shows the
// badge's image ("Badge image: <URL>", which the HTML alternative renders
// as the picture), or "" for a badge without an http(s) image URL. The
// URL is the one signed into the credential: hosted here, or the issuer's
// own.
func badgeImageLine(b domain.Badge) string {
	if !domain.ValidHTTPURL(b.ImageURL) {
		return ""
	}
	return "Badge image: " + b.ImageURL + "\n\n"
}

// Resend mails the recipient the credential's link again. A mail still on
// its way is returned as it is (nothing is sent twice); after a delivered
// one the issuer waits ResendCooldown (RATE_LIMITED, saying until when),
// unless that send failed for good.
func (s *Service) Resend(ctx context.Context, actor domain.Actor, orgID string, id domain.CredentialID) (domain.Mail, error) {
	org, err := s.guard.Org(ctx, actor, orgID, domain.PermResend)
	if err != nil {
		return domain.Mail{}, err
	}
	c, err := s.orgCredential(ctx, orgID, id, false)
	if err != nil {
		return domain.Mail{}, err
	}
	now := s.now()
	switch {
	case c.Test:
		return domain.Mail{}, domain.Errorf(domain.CodeInvalidState, "%s is a test credential; test credentials are never mailed", c.ID)
	case !org.EmailsEnabled:
		return domain.Mail{}, domain.Errorf(domain.CodeInvalidState, "recipient emails are switched off for this organization")
	case c.RevokedAt != nil:
		return domain.Mail{}, domain.Errorf(domain.CodeInvalidState, "%s is revoked; a revoked credential is not mailed again", c.ID)
	}
	badge, err := s.store.Badges().Get(ctx, orgID, c.BadgeID)
	if err != nil {
		return domain.Mail{}, err
	}
	var out domain.Mail
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		// Resends of one recipient's credentials take turns, so two at
		// once queue one mail.
		if err := s.store.Credentials().LockRecipient(ctx, c.BadgeID, c.RecipientEmail); err != nil {
			return err
		}
		last, err := s.store.Mails().Latest(ctx, c.ID)
		switch {
		case errors.Is(err, domain.ErrNotFound):
		case err != nil:
			return err
		case last.Status == domain.MailQueued || last.Status == domain.MailSending:
			out = last
			return nil
		case last.Status == domain.MailSent && last.SentAt != nil && now.Before(last.SentAt.Add(ResendCooldown)):
			until := last.SentAt.Add(ResendCooldown)
			return &domain.RateLimitError{RetryAt: until,
				Detail: fmt.Sprintf("the credential mail was sent %s; it can be sent again from %s", last.SentAt.Format(time.RFC3339), until.Format(time.RFC3339))}
		}
		out = domain.Mail{ID: domain.NewID(), OrgID: org.ID, CredentialID: c.ID, Kind: MailCredentialResent,
			To: c.RecipientEmail, Status: domain.MailQueued, CreatedAt: now, NextAttempt: now.Add(work.RelayGrace)}
		out.Subject, out.Text = s.issuedText(org, badge, c)
		return s.store.Mails().Create(ctx, out)
	})
	if err != nil {
		return domain.Mail{}, err
	}
	if out.Attempts == 0 && out.Status == domain.MailQueued {
		s.relay.MailsQueued(ctx, out.ID)
	}
	return out, nil
}
