package issuing

import (
	"context"
	"testing"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/ports"
)

// A recipient's first credential of a badge that has issued before is the
// common issue, and on PostgreSQL it is one statement in a transaction of
// its own (Credentials.InsertFirst): the credential, its quota count, its
// mail and its activity entry are all written by the same command of the
// same transaction, which only one statement can do (a transaction of
// several statements gives each its own command ID, and the quota's
// savepoint a subtransaction ID of its own). The first issue of the badge
// takes the full path (it locks the badge), as does a renewal.
func TestFirstIssueIsOneStatement(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harness.FreshPostgresDB(t))
	ctx := context.Background()
	w.decide(t, orgs.Approve)
	if _, err := w.orgs.GenerateKeys(ctx, w.owner, w.orgID, domain.AlgES256); err != nil {
		t.Fatal(err)
	}
	issue := func(email string) credentials.Issued {
		t.Helper()
		is, err := w.creds.Issue(ctx, w.owner, w.orgID, credentials.IssueInput{BadgeID: w.badge.ID,
			Recipient: domain.Recipient{Name: "Rae Recipient", Email: email}})
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	// writes returns the transaction and command that wrote each row of
	// c's issue, in the order credential, quota count, mail, activity.
	writes := func(c domain.Credential) [][2]string {
		t.Helper()
		rows, err := w.store.DB().QueryContext(ctx, `
			SELECT xmin::text, cmin::text FROM credentials WHERE id = ?
			UNION ALL SELECT xmin::text, cmin::text FROM quota_recipients WHERE org_id = ? AND month = ? AND email = ?
			UNION ALL SELECT xmin::text, cmin::text FROM mails WHERE credential_id = ?
			UNION ALL SELECT xmin::text, cmin::text FROM activity WHERE target = ?`,
			string(c.ID), c.OrgID, domain.MonthKey(c.IssuedAt), c.RecipientEmail, string(c.ID), string(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][2]string
		for rows.Next() {
			var w [2]string
			if err := rows.Scan(&w[0], &w[1]); err != nil {
				t.Fatal(err)
			}
			out = append(out, w)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(out) != 4 {
			t.Fatalf("issue of %s wrote %d of its 4 rows (credential, quota count, mail, activity): %v", c.ID, len(out), out)
		}
		return out
	}
	oneStatement := func(ws [][2]string) bool {
		for _, w := range ws {
			if w != ws[0] || w[1] != "0" {
				return false
			}
		}
		return true
	}

	first := issue("first-" + domain.NewID() + "@issuing.example")
	if ws := writes(first.Credential); oneStatement(ws) {
		t.Errorf("the badge's first issue wrote its rows in one statement %v: it must lock the badge in a transaction", ws)
	}
	var last credentials.Issued
	for range 3 {
		is := issue("r-" + domain.NewID() + "@issuing.example")
		if is.State != domain.StateNew || is.Previous != nil {
			t.Fatalf("first credential of a recipient: state %s, previous %v", is.State, is.Previous)
		}
		if ws := writes(is.Credential); !oneStatement(ws) {
			t.Errorf("a recipient's first credential of a used badge was written by (transaction, command) %v, want one statement", ws)
		}
		last = is
	}

	// The one statement writes what the full path writes.
	c := last.Credential
	mail, err := w.store.Mails().Latest(ctx, c.ID)
	if err != nil || mail.Kind != domain.MailCredentialIssued || mail.To != c.RecipientEmail {
		t.Errorf("mail of the issue: %+v, %v", mail, err)
	}
	log, err := w.store.Activity().List(ctx, ports.ActivityFilter{OrgID: w.orgID, Action: string(domain.ActCredentialIssued)})
	if err != nil || len(log) != 4 {
		t.Fatalf("activity: %d entries of credential.issued, %v; want 4", len(log), err)
	}
	for _, a := range log {
		if a.ActorUser != w.owner.UserID || a.TargetType != "credential" || a.Detail == "" {
			t.Errorf("activity entry %+v", a)
		}
	}
}
