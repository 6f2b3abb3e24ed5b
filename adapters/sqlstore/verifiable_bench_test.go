package sqlstore

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/domain"
)

// BenchmarkReadVerifiables is one batch of the verification read
// (Store.readVerifiables) of 16 credentials, as concurrent verifications
// gather under load; cpu-ns/row is the CPU time of this process (the
// database server's excluded on PostgreSQL) per credential read.
func BenchmarkReadVerifiables(b *testing.B) {
	for name, fresh := range map[string]func(testing.TB) string{
		"sqlite":   harness.FreshSQLitePath,
		"postgres": harness.FreshPostgresDB,
	} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, fresh(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			ids := verifiableFixture(b, s, 16)
			b.ReportAllocs()
			start := cpuTime(b)
			for b.Loop() {
				rows, errs, err := s.readVerifiables(ctx, ids)
				if err != nil || len(rows) != len(ids) || errs[0] != nil {
					b.Fatal(err, errs)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N*len(ids)), "cpu-ns/row")
		})
	}
}

// verifiableFixture stores an organization, a badge and n credentials of
// it, every column set, and returns the credentials' IDs.
func verifiableFixture(b testing.TB, s *Store, n int) []domain.CredentialID {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 30, 15, 123456000, time.UTC)
	org := domain.Organization{ID: domain.NewID(), Name: "Org", Slug: "org-" + domain.NewID()[:8], WebsiteURL: "https://example.com",
		Description: "An issuer", Status: domain.OrgApproved, Plan: domain.PlanProfessional, EmailsEnabled: true, CreatedAt: t0, UpdatedAt: t0}
	badge := domain.Badge{ID: domain.NewID(), OrgID: org.ID, Name: "Badge", Slug: "badge", Description: "Awarded for things",
		Criteria: "Do the things", ImageURL: "https://example.com/b.png", Tags: []string{"go", "sql"}, ExpiresInDays: new(365),
		Active: true, CreatedAt: t0, UpdatedAt: t0}
	if err := s.Orgs().Create(ctx, org); err != nil {
		b.Fatal(err)
	}
	if err := s.Badges().Create(ctx, badge); err != nil {
		b.Fatal(err)
	}
	jws := make([]byte, 2500)
	for i := range jws {
		jws[i] = 'a' + byte(i%26)
	}
	ids := make([]domain.CredentialID, n)
	for i := range ids {
		c := domain.Credential{ID: domain.NewCredentialID(), OrgID: org.ID, BadgeID: badge.ID, RecipientName: "Rae Recipient",
			RecipientEmail: fmt.Sprintf("r%d@example.com", i), IssuedAt: t0, ExpiresAt: new(t0.AddDate(1, 0, 0)), Public: true,
			ClaimedAt: new(t0.Add(time.Hour)), KeyID: "did:web:example.com:issuers:org#key-1", JWS: string(jws), CreatedBy: domain.NewID()}
		if err := s.Credentials().Insert(ctx, c); err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	return ids
}

// cpuTime is the CPU time this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
