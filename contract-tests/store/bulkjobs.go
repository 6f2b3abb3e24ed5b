package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// ---- bulk fixtures ----

// makeBulkJob returns a pending job of the issuer's badge with n rows (not
// inserted). Every failEvery-th row (none for 0) is invalid and failed at
// submission, as bulk submission stores such rows, and counted in Failed.
// The first rows carry text a careless encoding breaks.
func makeBulkJob(is issuer, n, failEvery int, createdAt time.Time) (domain.BulkJob, []domain.BulkRow) {
	j := domain.BulkJob{ID: domain.NewID(), OrgID: is.org.ID, BadgeID: is.badge.ID, FileName: "recipients-" + uniq() + ".csv",
		Status: domain.JobPending, Total: n, CreatedBy: domain.NewID(), CreatedAt: createdAt}
	p := uniq()
	rows := make([]domain.BulkRow, n)
	for i := range rows {
		r := domain.BulkRow{JobID: j.ID, Row: i + 1, Name: fmt.Sprintf("Recipient %d", i+1),
			Email: fmt.Sprintf("row%d-%s@example.com", i+1, p), State: domain.RowNew, Outcome: domain.OutcomePending}
		if failEvery > 0 && (i+1)%failEvery == 0 {
			r.State, r.Outcome, r.Code, r.Reason, r.ProcessedAt = domain.RowInvalid, domain.OutcomeFailed,
				"INVALID_ROW", `the email "x@" is not valid`, ptr(createdAt)
			j.Failed++
		}
		rows[i] = r
	}
	for i, name := range []string{"Zoë O'Brien", "Tab\there, back\\slash,\nnew line; \"quoted\""} {
		if i < n {
			rows[i].Name = name
			rows[i].State = domain.RowRenewal
		}
	}
	return j, rows
}

// createJob makes and stores a job whose submission lease ends at leaseUntil.
func createJob(t *testing.T, s ports.Store, is issuer, n, failEvery int, leaseUntil time.Time) (domain.BulkJob, []domain.BulkRow) {
	t.Helper()
	j, rows := makeBulkJob(is, n, failEvery, t0)
	before := cloneRows(rows)
	must(t, s.Bulk().Create(t.Context(), j, rows, leaseUntil))
	argsUnchanged(t, "BulkJobs.Create", rows, before)
	return j, rows
}

// cloneRows copies rows and what their pointers point to.
func cloneRows(rows []domain.BulkRow) []domain.BulkRow {
	out := slices.Clone(rows)
	for i := range out {
		if p := out[i].ProcessedAt; p != nil {
			out[i].ProcessedAt = ptr(*p)
		}
	}
	return out
}

func getJob(t *testing.T, s ports.Store, j domain.BulkJob) domain.BulkJob {
	t.Helper()
	got, err := s.Bulk().Get(t.Context(), j.OrgID, j.ID)
	must(t, err)
	return got
}

// allRows reads every row of the job with outcome ("" for any), page after
// page until an empty one.
func allRows(t *testing.T, s ports.Store, jobID string, outcome domain.RowOutcome) []domain.BulkRow {
	t.Helper()
	var out []domain.BulkRow
	after := 0
	for {
		p, err := s.Bulk().Rows(t.Context(), jobID, after, 1000, outcome)
		must(t, err)
		if len(p) == 0 {
			return out
		}
		if p[0].Row <= after || len(out)+len(p) > 1_000_000 {
			t.Fatalf("Rows after %d returned row %d", after, p[0].Row)
		}
		out = append(out, p...)
		after = p[len(p)-1].Row
	}
}

func withOutcome(rows []domain.BulkRow, o domain.RowOutcome) []domain.BulkRow {
	var out []domain.BulkRow
	for _, r := range rows {
		if r.Outcome == o {
			out = append(out, r)
		}
	}
	return out
}

// processed returns row with outcome o at `at`, as a worker records it.
func processed(row domain.BulkRow, o domain.RowOutcome, at time.Time) domain.BulkRow {
	row.Outcome, row.ProcessedAt = o, ptr(at)
	switch o {
	case domain.OutcomeIssued:
		row.CredentialID = domain.NewCredentialID()
	case domain.OutcomeSkipped:
		row.CredentialID = domain.NewCredentialID()
		row.Code, row.Reason = "DUPLICATE_CREDENTIAL", "the recipient holds "+string(row.CredentialID)+" already"
	case domain.OutcomeFailed:
		row.Code, row.Reason = "INVALID_EMAIL", "it's \"bad\"\tback\\slash\nnew line"
	}
	return row
}

func processedAll(rows []domain.BulkRow, o domain.RowOutcome, at time.Time) []domain.BulkRow {
	out := make([]domain.BulkRow, len(rows))
	for i, r := range rows {
		out[i] = processed(r, o, at)
	}
	return out
}

// putRows returns rows with each of changed in its row's place.
func putRows(rows []domain.BulkRow, changed ...domain.BulkRow) []domain.BulkRow {
	out := slices.Clone(rows)
	for _, c := range changed {
		for i := range out {
			if out[i].Row == c.Row {
				out[i] = c
			}
		}
	}
	return out
}

func acquire(t *testing.T, s ports.Store, j domain.BulkJob, owner string, now, leaseUntil time.Time) domain.BulkJob {
	t.Helper()
	got, ok, err := s.Bulk().Acquire(t.Context(), j.ID, owner, now, leaseUntil)
	must(t, err)
	if !ok {
		t.Fatalf("owner %s could not acquire job %s at %s", owner, j.ID, now.Format(time.RFC3339Nano))
	}
	return got
}

func wantNotAcquired(t *testing.T, s ports.Store, j domain.BulkJob, owner string, now, leaseUntil time.Time) {
	t.Helper()
	_, ok, err := s.Bulk().Acquire(t.Context(), j.ID, owner, now, leaseUntil)
	must(t, err)
	if ok {
		t.Fatalf("owner %s acquired job %s at %s", owner, j.ID, now.Format(time.RFC3339Nano))
	}
}

func stale(t *testing.T, s ports.Store, now, leaseUntil time.Time, limit int) []string {
	t.Helper()
	ids, err := s.Bulk().Stale(t.Context(), now, leaseUntil, limit)
	must(t, err)
	slices.Sort(ids)
	return ids
}

// ---- BulkJobs ----

// BulkJobs.Create: "inserts the job and all its rows in one go. Rows with an
// outcome other than pending are stored as processed"; Rows: "the job's rows
// in row order after row `after`, at most limit, only those with outcome
// when it is not """; Get: "ErrNotFound for another's". 2,500 rows take
// more than one multi-row statement.
func testBulkCreate(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	j, rows := makeBulkJob(is, 2500, 7, t0)
	j.Test, j.APIKeyID, j.FileName = true, domain.NewID(), "Liste des diplômés 'été'.csv"
	before := cloneRows(rows)
	must(t, s.Bulk().Create(ctx, j, rows, t0.Add(time.Minute)))
	argsUnchanged(t, "BulkJobs.Create", rows, before)

	equal(t, getJob(t, s, j), j)
	got := allRows(t, s, j.ID, "")
	if len(got) != len(rows) {
		t.Fatalf("stored %d rows, want %d", len(got), len(rows))
	}
	equal(t, got, rows)

	page, err := s.Bulk().Rows(ctx, j.ID, 10, 5, "")
	must(t, err)
	equal(t, page, rows[10:15])
	page, err = s.Bulk().Rows(ctx, j.ID, 1000, 1000, "")
	must(t, err)
	equal(t, page, rows[1000:2000])
	page, err = s.Bulk().Rows(ctx, j.ID, 2500, 10, "")
	must(t, err)
	if len(page) != 0 {
		t.Fatalf("rows after the last: %d", len(page))
	}

	// Rows failed at submission are processed: not pending.
	failed := withOutcome(rows, domain.OutcomeFailed)
	equal(t, len(failed), 357)
	equal(t, allRows(t, s, j.ID, domain.OutcomeFailed), failed)
	equal(t, allRows(t, s, j.ID, domain.OutcomePending), withOutcome(rows, domain.OutcomePending))
	page, err = s.Bulk().Rows(ctx, j.ID, 14, 2, domain.OutcomeFailed)
	must(t, err)
	equal(t, page, []domain.BulkRow{rows[20], rows[27]}) // rows 21 and 28
	page, err = s.Bulk().Rows(ctx, j.ID, 0, 10, domain.OutcomeIssued)
	must(t, err)
	if len(page) != 0 {
		t.Fatalf("issued rows of a new job: %v", page)
	}

	other := newIssuer(t, s)
	_, err = s.Bulk().Get(ctx, other.org.ID, j.ID)
	wantErr(t, err, domain.ErrNotFound)
	_, err = s.Bulk().Get(ctx, is.org.ID, domain.NewID())
	wantErr(t, err, domain.ErrNotFound)
}

// BulkJobs.List: "the organization's jobs, newest first, after the cursor".
// Jobs created in the same instant are listed in some fixed order: every
// page continues the previous one.
func testBulkList(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is, other := newIssuer(t, s), newIssuer(t, s)
	want := map[string]domain.BulkJob{}
	for i := range 7 {
		j, rows := makeBulkJob(is, 1, 0, t0.Add(time.Duration(i/2)*time.Minute))
		must(t, s.Bulk().Create(ctx, j, rows, t0))
		want[j.ID] = j
	}
	j, rows := makeBulkJob(other, 1, 0, t0.Add(time.Hour))
	must(t, s.Bulk().Create(ctx, j, rows, t0))

	all, err := s.Bulk().List(ctx, is.org.ID, ports.Page{})
	must(t, err)
	if len(all) != len(want) {
		t.Fatalf("listed %d jobs, want %d", len(all), len(want))
	}
	for i, got := range all {
		equal(t, got, want[got.ID])
		if i > 0 && got.CreatedAt.After(all[i-1].CreatedAt) {
			t.Fatalf("job %d (created %s) listed after a older one (%s)", i, got.CreatedAt, all[i-1].CreatedAt)
		}
	}
	for _, limit := range []int{1, 2, 3} {
		var paged []domain.BulkJob
		page := ports.Page{Limit: limit}
		for {
			p, err := s.Bulk().List(ctx, is.org.ID, page)
			must(t, err)
			if len(p) > limit {
				t.Fatalf("page of %d, limit %d", len(p), limit)
			}
			paged = append(paged, p...)
			if len(p) < limit {
				break
			}
			page.After = p[len(p)-1].ID
		}
		equal(t, paged, all)
	}
}

// BulkJobs.Acquire: "makes owner the job's processor until leaseUntil when
// the job is not done and nobody holds it (no owner, or a lease that ended
// before now); a pending job becomes processing. ok is false, and nothing
// changes, when the job is done or held by another." A job nobody acquired
// yet is free at once, though its submission lease runs.
func testBulkAcquire(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	j, rows := createJob(t, s, is, 3, 0, t0.Add(30*time.Second))

	now := t0.Add(time.Second)
	got := acquire(t, s, j, "a", now, now.Add(5*time.Minute))
	want := j
	want.Status, want.StartedAt = domain.JobProcessing, ptr(now)
	equal(t, got, want)
	equal(t, getJob(t, s, j), want)

	// Held by a: b is refused, and its attempt leaves a's lease as it was
	// (c takes the job once that lease ends, not b's leaseUntil).
	wantNotAcquired(t, s, j, "b", now.Add(time.Minute), now.Add(time.Hour))
	equal(t, getJob(t, s, j), want)
	must(t, s.Bulk().Record(ctx, j.ID, "a", []domain.BulkRow{processed(rows[0], domain.OutcomeIssued, now)}, now.Add(5*time.Minute)))

	later := now.Add(6 * time.Minute)
	got = acquire(t, s, j, "c", later, later.Add(5*time.Minute))
	equal(t, got.Status, domain.JobProcessing)
	equal(t, got.Issued, 1)
	equal(t, getJob(t, s, j), got)
	// a lost the job: its writes are fenced off.
	err := s.Bulk().Record(ctx, j.ID, "a", []domain.BulkRow{processed(rows[1], domain.OutcomeIssued, later)}, later.Add(time.Hour))
	wantErr(t, err, ports.ErrLeaseLost)
	_, err = s.Bulk().Finish(ctx, j.ID, "a", domain.JobCompleted, "", "", later)
	wantErr(t, err, ports.ErrLeaseLost)
	equal(t, getJob(t, s, j), got)

	// A done job is never acquired again, whatever the time.
	done, err := s.Bulk().Finish(ctx, j.ID, "c", domain.JobCompleted, "", "", later.Add(time.Minute))
	must(t, err)
	wantNotAcquired(t, s, j, "d", later.Add(24*time.Hour), later.Add(25*time.Hour))
	wantNotAcquired(t, s, j, "c", later.Add(24*time.Hour), later.Add(25*time.Hour))
	equal(t, getJob(t, s, j), done)
}

// BulkJobs.Acquire: of concurrent owners of a free job exactly one gets it,
// and only its writes go through.
func testBulkAcquireConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	j, rows := createJob(t, s, is, 2, 0, t0)
	const n = 10
	warmPool(t, s, n)
	oks := make([]bool, n)
	errs := race(n, func(i int) error {
		var err error
		_, oks[i], err = s.Bulk().Acquire(ctx, j.ID, fmt.Sprintf("owner-%d", i), t0, t0.Add(time.Hour))
		return err
	})
	winner := -1
	for i, err := range errs {
		must(t, err)
		if oks[i] {
			if winner >= 0 {
				t.Fatalf("owners %d and %d both acquired the job", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no owner acquired the job")
	}
	equal(t, getJob(t, s, j).Status, domain.JobProcessing)
	loser := (winner + 1) % n
	err := s.Bulk().Record(ctx, j.ID, fmt.Sprintf("owner-%d", loser), []domain.BulkRow{processed(rows[0], domain.OutcomeIssued, t0)}, t0.Add(time.Hour))
	wantErr(t, err, ports.ErrLeaseLost)
	must(t, s.Bulk().Record(ctx, j.ID, fmt.Sprintf("owner-%d", winner), []domain.BulkRow{processed(rows[0], domain.OutcomeIssued, t0)}, t0.Add(time.Hour)))
}

// BulkJobs.Record: "stores the outcomes of processed rows, adds them to the
// job's counts and renews the lease to leaseUntil". 1,200 rows take two
// statements.
func testBulkRecord(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	j, rows := createJob(t, s, is, 1250, 1000, t0) // row 1000 failed at submission
	want := acquire(t, s, j, "a", t0, t0.Add(time.Minute))

	chunk := []domain.BulkRow{
		processed(rows[0], domain.OutcomeIssued, t0.Add(10*time.Second)),
		processed(rows[1], domain.OutcomeSkipped, t0.Add(11*time.Second)),
		processed(rows[2], domain.OutcomeFailed, t0.Add(12*time.Second)),
	}
	must(t, s.Bulk().Record(ctx, j.ID, "a", chunk, t0.Add(10*time.Minute)))
	want.Issued, want.Skipped, want.Failed = 1, 1, 2
	equal(t, getJob(t, s, j), want)
	rows = putRows(rows, chunk...)
	equal(t, allRows(t, s, j.ID, ""), rows)

	// The lease was renewed to t0+10m: at t0+5m the job is still held.
	wantNotAcquired(t, s, j, "b", t0.Add(5*time.Minute), t0.Add(time.Hour))
	equalIDs(t, "stale while the renewed lease runs", stale(t, s, t0.Add(5*time.Minute), t0.Add(time.Hour), 10), nil)

	big := processedAll(withOutcome(rows, domain.OutcomePending)[:1200], domain.OutcomeIssued, t0.Add(time.Minute))
	equal(t, big[len(big)-1].Row, 1204) // rows 4..1204 but the failed 1000
	bigBefore := cloneRows(big)
	must(t, s.Bulk().Record(ctx, j.ID, "a", big, t0.Add(20*time.Minute)))
	argsUnchanged(t, "BulkJobs.Record", big, bigBefore)
	want.Issued += 1200
	equal(t, getJob(t, s, j), want)
	rows = putRows(rows, big...)
	equal(t, allRows(t, s, j.ID, ""), rows)
	equal(t, len(allRows(t, s, j.ID, domain.OutcomePending)), 1250-1-3-1200)
	wantNotAcquired(t, s, j, "b", t0.Add(15*time.Minute), t0.Add(time.Hour))
}

// BulkJobs.Record: "provided owner holds the job and every row is still
// pending; otherwise it returns an error matching ErrLeaseLost and writes
// nothing" — not the rows of the call's earlier statements, not the counts,
// not the lease; inside a caller's transaction that goes on and commits
// too. A row without an outcome and its time is refused as well.
func testBulkRecordRefused(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	j, rows := createJob(t, s, is, 1500, 1000, t0) // row 1000 failed at submission
	acquire(t, s, j, "a", t0, t0.Add(10*time.Minute))
	pending := withOutcome(rows, domain.OutcomePending)
	first := processed(pending[0], domain.OutcomeIssued, t0)
	must(t, s.Bulk().Record(ctx, j.ID, "a", []domain.BulkRow{first}, t0.Add(10*time.Minute)))
	before, beforeRows := getJob(t, s, j), allRows(t, s, j.ID, "")

	unchanged := func(name string) {
		t.Helper()
		if got := getJob(t, s, j); !reflect.DeepEqual(got, before) {
			t.Fatalf("%s changed the job:\n got %s\nwant %s", name, show(got), show(before))
		}
		got := allRows(t, s, j.ID, "")
		for i := range got {
			if !reflect.DeepEqual(got[i], beforeRows[i]) {
				t.Fatalf("%s changed row %d:\n got %s\nwant %s", name, got[i].Row, show(got[i]), show(beforeRows[i]))
			}
		}
	}
	refused := func(name string, owner string, batch []domain.BulkRow) {
		t.Helper()
		wantErr(t, s.Bulk().Record(ctx, j.ID, owner, batch, t0.Add(time.Hour)), ports.ErrLeaseLost)
		unchanged(name)
		// Inside a transaction the caller commits, nothing is written either.
		must(t, s.WithinTx(ctx, func(ctx context.Context) error {
			if err := s.Bulk().Record(ctx, j.ID, owner, batch, t0.Add(time.Hour)); !errors.Is(err, ports.ErrLeaseLost) {
				t.Errorf("%s inside a transaction: got %v, want ErrLeaseLost", name, err)
			}
			return nil
		}))
		unchanged(name + " inside a committed transaction")
	}

	refused("another owner", "b", processedAll(pending[1:4], domain.OutcomeIssued, t0))
	// The processed row comes after 1,100 pending ones: the first statement
	// of the call succeeds and must be taken back.
	submitted := rows[999]
	equal(t, submitted.Outcome, domain.OutcomeFailed)
	refused("a row failed at submission",
		"a", append(processedAll(pending[1:1101], domain.OutcomeIssued, t0), processed(submitted, domain.OutcomeIssued, t0)))
	refused("a row recorded before",
		"a", append(processedAll(pending[1:1101], domain.OutcomeSkipped, t0), processed(pending[0], domain.OutcomeIssued, t0)))

	noTime := processed(pending[1], domain.OutcomeIssued, t0)
	noTime.ProcessedAt = nil
	stillPending := pending[2]
	stillPending.ProcessedAt = ptr(t0)
	for name, row := range map[string]domain.BulkRow{"a row without ProcessedAt": noTime, "a row still pending": stillPending} {
		if err := s.Bulk().Record(ctx, j.ID, "a", []domain.BulkRow{processed(pending[3], domain.OutcomeIssued, t0), row}, t0.Add(time.Hour)); err == nil {
			t.Fatalf("Record accepted %s", name)
		}
		unchanged(name)
	}

	// None of the refused calls renewed the lease (t0+10m) to t0+1h.
	acquire(t, s, j, "c", t0.Add(11*time.Minute), t0.Add(time.Hour))
}

// BulkJobs.Finish: "ends the job with status (completed or failed, with
// errMsg), failing its remaining pending rows with code and reason,
// provided owner holds it; else ErrLeaseLost. It returns the finished job."
// Rows processed before (at submission or recorded) keep their outcome.
func testBulkFinish(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	j, rows := createJob(t, s, is, 10, 4, t0) // rows 4 and 8 failed at submission
	acquire(t, s, j, "a", t0, t0.Add(10*time.Minute))
	chunk := []domain.BulkRow{processed(rows[0], domain.OutcomeIssued, t0), processed(rows[1], domain.OutcomeSkipped, t0)}
	must(t, s.Bulk().Record(ctx, j.ID, "a", chunk, t0.Add(10*time.Minute)))
	rows = putRows(rows, chunk...)
	before := getJob(t, s, j)

	at := t0.Add(5 * time.Minute)
	const msg, code = "the badge was deactivated", "BADGE_INACTIVE"
	_, err := s.Bulk().Finish(ctx, j.ID, "b", domain.JobFailed, msg, code, at)
	wantErr(t, err, ports.ErrLeaseLost)
	equal(t, getJob(t, s, j), before)
	equal(t, allRows(t, s, j.ID, ""), rows)

	done, err := s.Bulk().Finish(ctx, j.ID, "a", domain.JobFailed, msg, code, at)
	must(t, err)
	want := before
	want.Status, want.Error, want.FinishedAt = domain.JobFailed, msg, ptr(at)
	want.Failed += 6 // rows 3, 5, 6, 7, 9, 10
	equal(t, done, want)
	equal(t, getJob(t, s, j), want)
	for i, r := range rows {
		if r.Outcome == domain.OutcomePending {
			rows[i].Outcome, rows[i].Code, rows[i].Reason, rows[i].ProcessedAt = domain.OutcomeFailed, code, msg, ptr(at)
		}
	}
	equal(t, allRows(t, s, j.ID, ""), rows)

	// The job is over and nobody holds it: the owner's writes are refused.
	_, err = s.Bulk().Finish(ctx, j.ID, "a", domain.JobCompleted, "", "", at.Add(time.Minute))
	wantErr(t, err, ports.ErrLeaseLost)
	equal(t, getJob(t, s, j), want)
	equalIDs(t, "stale after finish", stale(t, s, at.Add(24*time.Hour), at.Add(25*time.Hour), 10), nil)

	// Completing a job with every row recorded fails none.
	j2, rows2 := createJob(t, s, is, 3, 0, t0)
	acquire(t, s, j2, "a", t0, t0.Add(time.Minute))
	must(t, s.Bulk().Record(ctx, j2.ID, "a", processedAll(rows2, domain.OutcomeIssued, t0), t0.Add(time.Minute)))
	done, err = s.Bulk().Finish(ctx, j2.ID, "a", domain.JobCompleted, "", "UNUSED", at)
	must(t, err)
	equal(t, [5]any{done.Status, done.Issued, done.Failed, done.Error, *done.FinishedAt}, [5]any{domain.JobCompleted, 3, 0, "", at})
	equal(t, len(withOutcome(allRows(t, s, j2.ID, ""), domain.OutcomeIssued)), 3)
}

// BulkJobs.Release: "gives the job up when owner holds it: no owner, lease
// ended at now, so the next sweep hands it on".
func testBulkRelease(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	j, rows := createJob(t, s, is, 3, 0, t0)
	acquire(t, s, j, "a", t0, t0.Add(time.Hour))

	// Not the owner: nothing changes.
	must(t, s.Bulk().Release(ctx, j.ID, "b", t0.Add(time.Minute)))
	equalIDs(t, "stale after another's release", stale(t, s, t0.Add(2*time.Minute), t0.Add(time.Hour), 10), nil)
	wantNotAcquired(t, s, j, "b", t0.Add(2*time.Minute), t0.Add(time.Hour))
	must(t, s.Bulk().Record(ctx, j.ID, "a", processedAll(rows[:1], domain.OutcomeIssued, t0), t0.Add(time.Hour)))

	// The owner: the lease ends at once, an hour early.
	rel := t0.Add(3 * time.Minute)
	must(t, s.Bulk().Release(ctx, j.ID, "a", rel))
	equalIDs(t, "stale after release", stale(t, s, rel.Add(time.Microsecond), rel.Add(time.Minute), 10), []string{j.ID})
	wantErr(t, s.Bulk().Record(ctx, j.ID, "a", processedAll(rows[1:2], domain.OutcomeIssued, rel), rel.Add(time.Hour)), ports.ErrLeaseLost)
	acquire(t, s, j, "b", rel.Add(2*time.Microsecond), rel.Add(time.Hour))

	// Without a sweep between, another owner takes a released job at once.
	j2, _ := createJob(t, s, is, 1, 0, t0)
	acquire(t, s, j2, "a", t0, t0.Add(time.Hour))
	must(t, s.Bulk().Release(ctx, j2.ID, "a", rel))
	acquire(t, s, j2, "b", rel, rel.Add(time.Hour))
}

// BulkJobs.Stale: "up to limit jobs that are not done and whose lease ended
// before now, releasing their owner and marking them until leaseUntil so
// that sweeps running elsewhere leave them alone meanwhile".
func testBulkStale(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	mk := func(leaseUntil time.Time) (domain.BulkJob, []domain.BulkRow) {
		return createJob(t, s, is, 2, 0, leaseUntil)
	}
	never, _ := mk(t0.Add(time.Minute)) // submitted, relay lost
	fresh, _ := mk(t0.Add(10 * time.Minute))
	dead, deadRows := mk(t0)
	acquire(t, s, dead, "a", t0, t0.Add(time.Minute))
	alive, _ := mk(t0)
	acquire(t, s, alive, "b", t0, t0.Add(time.Hour))
	done, _ := mk(t0)
	acquire(t, s, done, "c", t0, t0.Add(time.Minute))
	_, err := s.Bulk().Finish(ctx, done.ID, "c", domain.JobCompleted, "", "", t0)
	must(t, err)

	now := t0.Add(2 * time.Minute)
	equalIDs(t, "stale", stale(t, s, now, now.Add(5*time.Minute), 10), []string{never.ID, dead.ID})
	// Marked until now+5m: sweeps meanwhile take none of them.
	equalIDs(t, "second sweep", stale(t, s, now, now.Add(5*time.Minute), 10), nil)
	equalIDs(t, "sweep before the mark ends", stale(t, s, now.Add(4*time.Minute), now.Add(9*time.Minute), 10), nil)

	// The owner was released: its writes are refused, and a new owner takes
	// the job at once.
	wantErr(t, s.Bulk().Record(ctx, dead.ID, "a", processedAll(deadRows[:1], domain.OutcomeIssued, now), now.Add(time.Hour)), ports.ErrLeaseLost)
	acquire(t, s, dead, "d", now.Add(time.Minute), now.Add(10*time.Minute))

	// Once the mark ends, a job nobody took is stale again.
	equalIDs(t, "after the mark", stale(t, s, now.Add(6*time.Minute), now.Add(11*time.Minute), 10), []string{never.ID})

	// limit: later every job but the done one is stale; two sweeps split them.
	later := t0.Add(2 * time.Hour)
	one := stale(t, s, later, later.Add(time.Minute), 1)
	rest := stale(t, s, later, later.Add(time.Minute), 10)
	if len(one) != 1 {
		t.Fatalf("Stale with limit 1 returned %v", one)
	}
	equalIDs(t, "both sweeps", append(one, rest...), []string{never.ID, fresh.ID, dead.ID, alive.ID})
}

// BulkJobs.Stale: concurrent sweeps never hand out one job twice.
func testBulkStaleConcurrent(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	var want []string
	for range 20 {
		j, _ := createJob(t, s, is, 1, 0, t0)
		want = append(want, j.ID)
	}
	const sweeps = 8
	warmPool(t, s, sweeps)
	got := make([][]string, sweeps)
	errs := race(sweeps, func(i int) error {
		var err error
		got[i], err = s.Bulk().Stale(ctx, t0.Add(time.Minute), t0.Add(time.Hour), 100)
		return err
	})
	var all []string
	for i, err := range errs {
		must(t, err)
		all = append(all, got[i]...)
	}
	equalIDs(t, "jobs of all sweeps", all, want) // each exactly once
}
