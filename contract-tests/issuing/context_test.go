package issuing

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/ports"
)

// A recipient's first credential of a used badge is decided and signed on
// the issue context of the issue before (no read first), but never on a
// stale one: every change that bears on the decision or on the signed
// document holds from the next issue on — a renamed organization is the
// signed issuer name, a rotated key signs, a role taken away, a
// deactivated badge and a suspended organization refuse — and a refused
// issue writes nothing.
func TestRememberedContextIsNeverStale(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		ctx := context.Background()
		w.decide(t, orgs.Approve)
		if _, err := w.orgs.GenerateKeys(ctx, w.owner, w.orgID, domain.AlgES256); err != nil {
			t.Fatal(err)
		}
		issuer := w.member(t, domain.RoleIssuer)
		var last string // the recipient of the last issue
		issueTo := func(actor domain.Actor, email string) (credentials.Issued, error) {
			last = email
			return w.creds.Issue(ctx, actor, w.orgID, credentials.IssueInput{BadgeID: w.badge.ID,
				Recipient: domain.Recipient{Name: "Rae Recipient", Email: email}})
		}
		issue := func(actor domain.Actor) (credentials.Issued, error) {
			return issueTo(actor, "r-"+domain.NewID()+"@issuing.example")
		}
		issued := func(what string, actor domain.Actor) credentials.Issued {
			t.Helper()
			is, err := issue(actor)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return is
		}
		count := func() int {
			t.Helper()
			cs, err := w.store.Credentials().List(ctx, ports.CredentialFilter{OrgID: w.orgID, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(cs)
		}
		refused := func(what string, actor domain.Actor, want domain.Code) {
			t.Helper()
			before := count()
			if _, err := issue(actor); domain.CodeOf(err) != want {
				t.Errorf("%s: issue answered %v, want %s", what, err, want)
			}
			if n := count(); n != before {
				t.Errorf("%s: a refused issue stored %d credentials", what, n-before)
			}
		}
		warm := func(actor domain.Actor) credentials.Issued {
			t.Helper()
			issued("warm-up", actor)
			return issued("warm-up", actor)
		}

		// The signed issuer is the organization as it is now.
		warm(issuer)
		name := "Renamed " + domain.NewID()[:8]
		if _, err := w.orgs.Update(ctx, w.owner, w.orgID, domain.OrgInput{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if got := signedIssuerName(t, issued("after a rename", issuer).Credential.JWS); got != name {
			t.Errorf("after a rename the signed issuer name is %q, want %q", got, name)
		}

		// The active key signs.
		before := warm(issuer).Credential.KeyID
		if _, err := w.orgs.RotateKeys(ctx, w.owner, w.orgID); err != nil {
			t.Fatal(err)
		}
		if kid := issued("after a rotation", issuer).Credential.KeyID; kid == before || !strings.HasSuffix(kid, "#key-2") {
			t.Errorf("after a rotation the credential names key %q (before: %q), want the new key", kid, before)
		}

		// A role taken away.
		warm(issuer)
		if _, err := w.orgs.ChangeRole(ctx, w.owner, w.orgID, issuer.UserID, domain.RoleViewer); err != nil {
			t.Fatal(err)
		}
		refused("viewer", issuer, domain.CodeForbidden)

		// A deactivated badge (deleting a used one deactivates it).
		warm(w.owner)
		if _, err := w.badges.Delete(ctx, w.owner, w.orgID, w.badge.ID); err != nil {
			t.Fatal(err)
		}
		refused("deactivated badge", w.owner, domain.CodeBadgeInactive)

		// A suspended organization refuses, a recipient who holds a
		// credential of the badge too; once the suspension is lifted,
		// issuing goes on, and for that holder the full rules (which run
		// on the remembered context after the one step declines) answer.
		w.badge = w.newBadge(t)
		warm(w.owner)
		holder := last
		w.decide(t, orgs.Suspend)
		if _, err := issueTo(w.owner, holder); domain.CodeOf(err) != domain.CodeOrgNotApproved {
			t.Errorf("suspended, to a holder: issue answered %v, want ORG_NOT_APPROVED", err)
		}
		refused("suspended", w.owner, domain.CodeOrgNotApproved)
		w.decide(t, orgs.Approve)
		issued("after the suspension is lifted", w.owner)
		if _, err := issueTo(w.owner, holder); domain.CodeOf(err) != domain.CodeDuplicateCredential {
			t.Errorf("to a holder of an active non-expiring credential: issue answered %v, want DUPLICATE_CREDENTIAL", err)
		}
	})
}

// signedIssuerName is the issuer name in a compact JWS's payload.
func signedIssuerName(t *testing.T, jws string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jws)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Issuer struct {
			Name string `json:"name"`
		} `json:"issuer"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Issuer.Name
}
