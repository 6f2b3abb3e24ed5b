package issuing

import (
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/credence-dev/credence/adapters/sysclock"
	"github.com/credence-dev/credence/adapters/webhooksend"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/webhooks"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// hookRelay leaves webhook deliveries in the store.
type hookRelay struct{ noRelay }

func (hookRelay) WebhooksQueued(context.Context, ...string) {}

// The expiry announcer writes credential.expired once for each credential
// that expired within the last day, for the endpoints that chose it: not
// for one expired longer ago, nor for one revoked before it expired (its
// end was told then), and never twice, on SQLite and PostgreSQL.
func TestExpiriesAnnounced(t *testing.T) {
	stores(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		w := newWorld(t, dsn)
		w.approved(t)
		if _, err := w.orgs.SetPlan(ctx, w.admin, w.orgID, domain.PlanEnterprise); err != nil {
			t.Fatal(err)
		}
		key := make([]byte, signing.MasterKeySize)
		_, _ = rand.Read(key)
		cipher, _ := signing.NewCipher(key)
		clock := sysclock.Clock{}
		hooks := webhooks.New(w.store, clock, hookRelay{}, cipher, webhooksend.New(webhooksend.Options{AllowPrivate: true}),
			work.NewOutbox(w.store, cipher, noRelay{}, clock), domain.DefaultPlans(), slog.New(slog.DiscardHandler), webhooks.Options{AllowHTTP: true})
		w.creds.UseEmitter(hooks)
		url, events := "http://127.0.0.1:9/hooks", []string{string(domain.EventCredentialExpired)}
		created, err := hooks.Create(ctx, w.owner, w.orgID, domain.WebhookInput{URL: &url, Events: &events})
		if err != nil {
			t.Fatal(err)
		}

		now := time.Now().UTC()
		expired := w.issueTo(t, "expired@example.com")
		longAgo := w.issueTo(t, "long-ago@example.com")
		revoked := w.issueTo(t, "revoked@example.com")
		valid := w.issueTo(t, "valid@example.com")
		if _, err := w.creds.Revoke(ctx, w.owner, w.orgID, revoked.ID, "withdrawn"); err != nil {
			t.Fatal(err)
		}
		w.exec(t, "UPDATE credentials SET expires_at = ? WHERE id = ?", now.Add(-time.Hour), string(expired.ID))
		w.exec(t, "UPDATE credentials SET expires_at = ? WHERE id = ?", now.Add(-48*time.Hour), string(longAgo.ID))
		w.exec(t, "UPDATE credentials SET expires_at = ? WHERE id = ?", now.Add(-time.Minute), string(revoked.ID))
		w.exec(t, "UPDATE credentials SET expires_at = ? WHERE id = ?", now.Add(time.Hour), string(valid.ID))

		n, err := w.creds.AnnounceExpiries(ctx)
		if err != nil || n != 2 {
			t.Fatalf("announced %d (%v), want the expired and the revoked one", n, err)
		}
		ds, err := w.store.Webhooks().Deliveries(ctx, ports.DeliveryFilter{OrgID: w.orgID, WebhookID: created.Webhook.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].EventType != domain.EventCredentialExpired {
			t.Fatalf("deliveries %+v, want one credential.expired", ds)
		}
		if n, err := w.creds.AnnounceExpiries(ctx); err != nil || n != 0 {
			t.Errorf("a second round announced %d (%v)", n, err)
		}
	})
}
