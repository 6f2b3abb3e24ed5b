package issuing

import (
	"context"
	"testing"

	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
)

// outcome is the code each way of issuing answered ("" for an issue).
type outcome struct{ single, batch, bulk domain.Code }

func all(c domain.Code) outcome { return outcome{c, c, c} }

// issueAll tries the three ways of issuing badgeID as actor, each to a
// new recipient: one credential, a batch of one, a bulk file of one row.
func (w *world) issueAll(t *testing.T, actor domain.Actor, badgeID string) outcome {
	t.Helper()
	ctx := context.Background()
	email := "r-" + domain.NewID() + "@issuing.example"
	rcpt := domain.Recipient{Name: "Rae Recipient", Email: email}
	var got outcome
	_, err := w.creds.Issue(ctx, actor, w.orgID, credentials.IssueInput{BadgeID: badgeID, Recipient: rcpt})
	got.single = domain.CodeOf(err)
	if err != nil && got.single == "" {
		t.Fatalf("single issue: uncoded error %v", err)
	}
	res, err := w.creds.IssueBatch(ctx, actor, w.orgID, badgeID, []domain.Recipient{{Name: "Bo Batch", Email: "a-" + email}}, nil)
	got.batch = domain.CodeOf(err)
	if err == nil && res[0].Err != nil {
		got.batch = domain.CodeOf(res[0].Err)
	}
	if err != nil && got.batch == "" {
		t.Fatalf("batch issue: uncoded error %v", err)
	}
	_, err = w.bulk.Submit(ctx, actor, w.orgID, badgeID, bulk.File{Name: "r.csv", Data: []byte("name,email\nRay Row," + "b-" + email + "\n")})
	got.bulk = domain.CodeOf(err)
	if err != nil && got.bulk == "" {
		t.Fatalf("bulk submit: uncoded error %v", err)
	}
	return got
}

// Single, batch and bulk issuance refuse alike and in the one order of
// the gate: who the actor is, (bulk: the badge, then the plan), the
// organization's status, the badge, its being active, the signing key.
func TestIssueGateOrder(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		ctx := context.Background()
		unknown := domain.NewID()
		viewer := w.member(t, domain.RoleViewer)
		issuer := w.member(t, domain.RoleIssuer)
		keyActor := domain.Actor{APIKeyID: domain.NewID(), APIKeyOrg: w.orgID, APIKeyMode: domain.APIKeyLive}
		otherKey := domain.Actor{APIKeyID: domain.NewID(), APIKeyOrg: domain.NewID(), APIKeyMode: domain.APIKeyLive}
		steps := []struct {
			name    string
			setup   func(t *testing.T)
			actor   domain.Actor
			unknown bool // issue a badge ID the organization does not have
			want    outcome
		}{
			// Pending review, no keys, free plan.
			{name: "anonymous", actor: domain.Actor{}, want: all(domain.CodeUnauthenticated)},
			{name: "stranger", actor: w.user(t), want: all(domain.CodeNotFound)},
			{name: "API key of another organization", actor: otherKey, want: all(domain.CodeNotFound)},
			{name: "viewer", actor: viewer, want: all(domain.CodeForbidden)},
			{name: "API key without API access", actor: keyActor, want: all(domain.CodePlanRequired)},
			{name: "pending, unknown badge", actor: w.owner, unknown: true,
				want: outcome{domain.CodeOrgNotApproved, domain.CodeOrgNotApproved, domain.CodeNotFound}},
			{name: "pending, free plan", actor: issuer,
				want: outcome{domain.CodeOrgNotApproved, domain.CodeOrgNotApproved, domain.CodePlanRequired}},
			{name: "pending, professional", setup: func(t *testing.T) {
				if _, err := w.orgs.SetPlan(ctx, w.admin, w.orgID, domain.PlanProfessional); err != nil {
					t.Fatal(err)
				}
			}, actor: w.owner, want: all(domain.CodeOrgNotApproved)},
			{name: "approved, unknown badge", setup: func(t *testing.T) { w.decide(t, orgs.Approve) },
				actor: w.owner, unknown: true, want: all(domain.CodeNotFound)},
			{name: "approved, no keys", actor: w.owner, want: all(domain.CodeSigningKeysMissing)},
			{name: "inactive badge, no keys", setup: func(t *testing.T) {
				b := w.badge
				b.Active = false
				if err := w.store.Badges().Update(ctx, b); err != nil {
					t.Fatal(err)
				}
			}, actor: w.owner, want: all(domain.CodeBadgeInactive)},
			{name: "keys", setup: func(t *testing.T) {
				if _, err := w.orgs.GenerateKeys(ctx, w.owner, w.orgID, domain.AlgES256); err != nil {
					t.Fatal(err)
				}
				w.badge = w.newBadge(t)
			}, actor: issuer, want: outcome{}},
			{name: "suspended", setup: func(t *testing.T) { w.decide(t, orgs.Suspend) },
				actor: w.owner, want: all(domain.CodeOrgNotApproved)},
		}
		for _, st := range steps {
			if st.setup != nil {
				st.setup(t)
			}
			badge := w.badge.ID
			if st.unknown {
				badge = unknown
			}
			if got := w.issueAll(t, st.actor, badge); got != st.want {
				t.Errorf("%s: got (single %q, batch %q, bulk %q), want (%q, %q, %q)", st.name,
					got.single, got.batch, got.bulk, st.want.single, st.want.batch, st.want.bulk)
			}
		}
	})
}
