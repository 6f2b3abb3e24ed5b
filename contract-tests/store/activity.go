package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// ActivityLog: entries come back newest first, per organization or all,
// filtered by action (exact or by thing), actor, target and time, paged
// by cursor; an entry recorded in a transaction that rolls back is gone.
func testActivityLog(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o, other := newOrg(t, s), newOrg(t, s)
	user, key := domain.NewID(), domain.NewID()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	entries := []domain.Activity{
		domain.NewActivity(domain.Actor{UserID: user, IP: "192.0.2.1"}, o.ID, domain.ActBadgeCreated, "badge", "b1", "Go", at(1)),
		domain.NewActivity(domain.Actor{APIKeyID: key}, o.ID, domain.ActCredentialIssued, "credential", "CRD-AAAAAAAA", "", at(2)),
		domain.NewActivity(domain.Actor{UserID: user}, o.ID, domain.ActCredentialRevoked, "credential", "CRD-AAAAAAAA", "mistake", at(3)),
		domain.NewActivity(domain.Actor{UserID: user}, other.ID, domain.ActBadgeCreated, "badge", "b2", "", at(4)),
	}
	failed := domain.NewActivity(domain.Actor{IP: "198.51.100.9"}, "", domain.ActSignInFailed, "user", "", "", at(5))
	failed.ActorEmail = "nobody@example.com"
	must(t, s.Activity().Record(ctx, entries...))
	must(t, s.Activity().Record(ctx, failed))
	boom := errors.New("roll back")
	err := s.WithinTx(ctx, func(ctx context.Context) error {
		must(t, s.Activity().Record(ctx, domain.NewActivity(domain.Actor{UserID: user}, o.ID, domain.ActBadgeDeleted, "badge", "b1", "", at(6))))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithinTx = %v", err)
	}

	list := func(f ports.ActivityFilter) []domain.Activity {
		t.Helper()
		got, err := s.Activity().List(ctx, f)
		must(t, err)
		return got
	}
	e := entries
	equal(t, list(ports.ActivityFilter{OrgID: o.ID}), []domain.Activity{e[2], e[1], e[0]})
	equal(t, list(ports.ActivityFilter{OrgID: o.ID, Action: "credential"}), []domain.Activity{e[2], e[1]})
	equal(t, list(ports.ActivityFilter{OrgID: o.ID, Action: string(domain.ActCredentialIssued)}), []domain.Activity{e[1]})
	equal(t, list(ports.ActivityFilter{OrgID: o.ID, Actor: key}), []domain.Activity{e[1]})
	equal(t, list(ports.ActivityFilter{OrgID: o.ID, Target: "CRD-AAAAAAAA"}), []domain.Activity{e[2], e[1]})
	since, until := at(2), at(3)
	equal(t, list(ports.ActivityFilter{OrgID: o.ID, Since: &since, Until: &until}), []domain.Activity{e[1]})
	page := list(ports.ActivityFilter{OrgID: o.ID, Page: ports.Page{Limit: 2}})
	equal(t, page, []domain.Activity{e[2], e[1]})
	equal(t, list(ports.ActivityFilter{OrgID: o.ID, Page: ports.Page{After: page[1].ID, Limit: 2}}), []domain.Activity{e[0]})
	// The platform's log: sign-ins outside any organization included.
	all := list(ports.ActivityFilter{AllOrgs: true, Since: &t0})
	if len(all) < 5 || all[0].ID != failed.ID || all[0].ActorEmail != "nobody@example.com" {
		t.Errorf("platform log starts %s, want the failed sign-in first", show(all[:min(len(all), 2)]))
	}
	equal(t, list(ports.ActivityFilter{AllOrgs: true, OrgID: other.ID}), []domain.Activity{e[3]})
}
