package issuing

import (
	"context"
	"sync"
	"testing"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
)

// Changes to one credential made at the same moment never undo each
// other: a revocation racing a suspension, a claim or another suspension
// stands (each change reads the credential locked), on SQLite and on
// PostgreSQL, whose read committed transactions would otherwise write a
// stale copy back.
func TestConcurrentStatusChangesAreNeverLost(t *testing.T) {
	stores(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		w.decide(t, orgs.Approve)
		ctx := context.Background()
		if _, err := w.orgs.GenerateKeys(ctx, w.owner, w.orgID, domain.AlgES256); err != nil {
			t.Fatal(err)
		}
		for round := range 20 {
			recipient := w.user(t)
			is, err := w.creds.Issue(ctx, w.owner, w.orgID, credentials.IssueInput{BadgeID: w.badge.ID,
				Recipient: domain.Recipient{Name: "Rae", Email: recipient.UserEmail}})
			if err != nil {
				t.Fatal(err)
			}
			id := is.Credential.ID
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i, change := range []func() error{
				func() error { _, err := w.creds.Revoke(ctx, w.owner, w.orgID, id, "race"); return err },
				func() error { _, err := w.creds.Suspend(ctx, w.owner, w.orgID, id, "race"); return err },
				func() error { _, err := w.creds.Claim(ctx, recipient, id); return err },
			} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = change()
				}()
			}
			close(start)
			wg.Wait()
			c, err := w.store.Credentials().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if errs[0] != nil || c.RevokedAt == nil {
				t.Fatalf("round %d: the revocation (%v) was lost: revoked %v", round, errs[0], c.RevokedAt)
			}
			// The suspension and the claim either took effect or were
			// refused with a code (suspending a revoked credential,
			// claiming a revoked or suspended one), never silently undone.
			if errs[1] == nil && c.SuspendedAt == nil {
				t.Fatalf("round %d: the suspension succeeded but is not in the record", round)
			}
			if errs[1] != nil && domain.CodeOf(errs[1]) != domain.CodeInvalidState {
				t.Fatalf("round %d: suspend: %v", round, errs[1])
			}
			if errs[2] == nil && c.ClaimedAt == nil {
				t.Fatalf("round %d: the claim succeeded but is not in the record", round)
			}
			if errs[2] != nil && domain.CodeOf(errs[2]) != domain.CodeNotClaimable {
				t.Fatalf("round %d: claim: %v", round, errs[2])
			}
		}
	})
}
