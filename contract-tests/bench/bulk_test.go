package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// bulkRows is the size of each job the bulk benchmarks process.
const bulkRows = 5000

// BenchmarkBulkProcessSQLite and BenchmarkBulkProcessPostgres time the
// processing of bulk jobs of bulkRows new recipients by bulk.Service
// (submission not counted): batches signed on every core and written in
// one transaction each, with their quota, outcomes and queued mail.
func BenchmarkBulkProcessSQLite(b *testing.B) { benchBulk(b, harness.FreshSQLitePath(b)) }

func BenchmarkBulkProcessPostgres(b *testing.B) { benchBulk(b, harness.FreshPostgresDB(b)) }

func benchBulk(b *testing.B, dsn string) {
	is := newIssuer(b, dsn)
	svc := is.p.Bulk
	ctx := context.Background()
	var rows int
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		var csv bytes.Buffer
		csv.WriteString("name,email\n")
		for r := range bulkRows {
			fmt.Fprintf(&csv, "P %d,u%d-%d@b.example\n", r, r, i)
		}
		job, err := svc.Submit(ctx, is.actor, is.orgID, is.badge, bulk.File{Name: "b.csv", Data: csv.Bytes()})
		if err != nil {
			b.Fatal(err)
		}
		payload, _ := json.Marshal(work.JobTask{JobID: job.ID})
		b.StartTimer()
		start := time.Now()
		if err := svc.Process(ctx, ports.Task{Kind: work.KindBulkJob, Payload: payload}); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		b.StopTimer()
		done, err := svc.Get(ctx, is.actor, is.orgID, job.ID)
		if err != nil || done.Issued != bulkRows {
			b.Fatalf("job %+v: %v", done, err)
		}
		rows += done.Issued
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
}
