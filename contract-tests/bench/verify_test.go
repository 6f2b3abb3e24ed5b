package bench

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
)

// benchVerify verifies one stored credential by ID through the core, as
// GET /api/v1/credentials/{id}/verify does: one after another ("serial",
// the CPU and allocations of one verification, round trip included) and
// from 16 goroutines ("parallel", where PostgreSQL reads go out in
// batches and the per-row cost of reading shows).
func benchVerify(b *testing.B, dsn string) {
	is := newIssuer(b, dsn)
	ctx := context.Background()
	c, err := is.svc.Issue(ctx, is.actor, is.orgID, credentials.IssueInput{BadgeID: is.badge,
		Recipient: domain.Recipient{Name: "Rae Recipient", Email: "rae@bench.example"}})
	if err != nil {
		b.Fatal(err)
	}
	verify := func(b *testing.B) bool {
		v, err := is.svc.Verify(ctx, domain.Actor{}, c.Credential.ID)
		if err != nil || len(v.Checks) != 5 {
			b.Errorf("verify: %v %+v", err, v.Checks)
			return false
		}
		for _, c := range v.Checks {
			if !c.OK {
				b.Errorf("verify: %+v", v.Checks)
				return false
			}
		}
		return true
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			if !verify(b) {
				return
			}
		}
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism((concurrency + 1) / 2)
		start := cpuTime(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !verify(b) {
					return
				}
			}
		})
		b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
	})
}

// cpuTime is the CPU time this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkVerifySQLite(b *testing.B) {
	benchVerify(b, harness.FreshSQLitePath(b))
}

func BenchmarkVerifyPostgres(b *testing.B) {
	benchVerify(b, harness.FreshPostgresDB(b))
}
