package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/access"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Relay hands work to the queue once its transaction commits.
type Relay interface {
	JobSubmitted(ctx context.Context, jobID string)
	MailsQueued(ctx context.Context, ids ...string)
}

// Options tune job processing.
type Options struct {
	ChunkSize int           // rows issued per transaction (default 500)
	JobLease  time.Duration // how long a worker holds a job between chunks (default 30s)
}

// Service runs bulk issuance: validation, submission, progress, and the
// processing of jobs by workers.
type Service struct {
	store Store
	clock ports.Clock
	creds *credentials.Service
	relay Relay
	plans domain.Plans
	guard access.Guard
	log   *slog.Logger
	opts  Options
	// events writes bulk_issuance.completed and failed for webhooks (see
	// UseEmitter); nil: the event is only recorded.
	events credentials.Emitter
}

// UseEmitter has the service write the webhook events of finished jobs.
// Call it before the service serves.
func (s *Service) UseEmitter(e credentials.Emitter) { s.events = e }

// New returns a bulk issuance service issuing through creds.
func New(store Store, clock ports.Clock, creds *credentials.Service, relay Relay, plans domain.Plans, log *slog.Logger, opts Options) *Service {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 500
	}
	if opts.JobLease <= 0 {
		opts.JobLease = 30 * time.Second
	}
	return &Service{store: store, clock: clock, creds: creds, relay: relay, plans: plans, log: log, opts: opts,
		guard: access.Guard{Store: store, Plans: plans}}
}

// File is an uploaded bulk file.
type File struct {
	Name string
	Data []byte
	// Size is the whole file's size, when Data holds only its beginning:
	// an adapter need read no more than MaxFileBytes+1 bytes of an upload
	// to have it refused, saying its size. 0 means len(Data).
	Size int64
}

// Validation is the per-row preview of a file and its totals.
type Validation struct {
	Rows   []domain.PreviewRow
	Totals domain.PreviewTotals
}

// Validate previews what submitting the file would do, on every plan.
func (s *Service) Validate(ctx context.Context, actor domain.Actor, orgID, badgeID string, f File) (Validation, error) {
	org, err := s.start(ctx, actor, orgID, badgeID)
	if err != nil {
		return Validation{}, err
	}
	return s.preview(ctx, actor, org, badgeID, f)
}

// start checks what every bulk operation needs: the permission to issue
// and a badge of the organization.
func (s *Service) start(ctx context.Context, actor domain.Actor, orgID, badgeID string) (domain.Organization, error) {
	if err := checkBadgeID(badgeID); err != nil {
		return domain.Organization{}, err
	}
	org, err := s.guard.Org(ctx, actor, orgID, domain.PermIssue)
	if err != nil {
		return domain.Organization{}, err
	}
	if _, err := s.store.Badges().Get(ctx, orgID, badgeID); err != nil {
		return domain.Organization{}, err
	}
	return org, nil
}

func checkBadgeID(badgeID string) error {
	if !domain.IsID(badgeID) {
		var v domain.Validator
		v.Add("body.badgeId", "badgeId must be a badge ID", badgeID)
		return v.Err()
	}
	return nil
}

func (s *Service) preview(ctx context.Context, actor domain.Actor, org domain.Organization, badgeID string, f File) (Validation, error) {
	rows, err := parseFile(f.Name, f.Data, max(f.Size, int64(len(f.Data))))
	if err != nil {
		return Validation{}, err
	}
	emails := distinctEmails(rows)
	limit, test := s.plans.Get(org.Plan).MonthlyRecipients, actor.APIKeyMode == domain.APIKeyTest
	heads, err := s.store.Credentials().Heads(ctx, badgeID, test, emails, false)
	if err != nil {
		return Validation{}, err
	}
	now := s.clock.Now()
	month := domain.MonthStart(now)
	var counted map[string]bool
	var used int
	if limit != domain.Unlimited && !test { // else the quota decides nothing
		if counted, err = s.store.Quota().CountedMany(ctx, org.ID, month, emails); err != nil {
			return Validation{}, err
		}
		if used, err = s.store.Quota().Used(ctx, org.ID, month); err != nil {
			return Validation{}, err
		}
	}
	r := Recipients{
		Current: func(email string) *domain.Credential {
			if h, ok := heads[email]; ok {
				return &h
			}
			return nil
		},
		Counted:   func(email string) bool { return counted[email] },
		QuotaUsed: used, QuotaLimit: limit, Test: test,
	}
	out, totals := Preview(rows, r, now)
	return Validation{Rows: out, Totals: totals}, nil
}

func distinctEmails(rows []domain.CSVRow) []string {
	seen := make(map[string]bool, len(rows))
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.Email != "" && !seen[r.Email] {
			seen[r.Email] = true
			out = append(out, r.Email)
		}
	}
	return out
}

// Submit stores a job with every row of the file in one transaction and
// hands it to the workers. It needs a plan with bulk issuance and an
// organization, badge and key able to issue; a file with no row to issue
// is refused (INVALID_CSV). Rows invalid in the preview are failed at
// once with their reason; the others are issued by the workers, which
// check each again.
func (s *Service) Submit(ctx context.Context, actor domain.Actor, orgID, badgeID string, f File) (domain.BulkJob, error) {
	if err := checkBadgeID(badgeID); err != nil {
		return domain.BulkJob{}, err
	}
	g, err := s.creds.Gate(ctx, actor, orgID, badgeID, func(org domain.Organization) error {
		if !s.plans.Get(org.Plan).BulkIssuance {
			return domain.Errorf(domain.CodePlanRequired, "Bulk issuance requires Professional plan (this organization is on %s)", org.Plan)
		}
		return nil
	})
	if err != nil {
		return domain.BulkJob{}, err
	}
	org := g.Org
	p, err := s.preview(ctx, actor, org, badgeID, f)
	if err != nil {
		return domain.BulkJob{}, err
	}
	if p.Totals.Issuable() == 0 {
		return domain.BulkJob{}, domain.Errorf(domain.CodeInvalidCSV,
			"no row of the file can be issued: %d skipped, %d invalid (validate the file to see why)", p.Totals.Skipped, p.Totals.Invalid)
	}
	now := domain.Truncate(s.clock.Now())
	fileName, ok := domain.CleanText(f.Name, 255, false) // shown back as given, within reason
	if !ok {
		fileName = "upload.csv"
	}
	job := domain.BulkJob{ID: domain.NewID(), OrgID: orgID, BadgeID: badgeID, FileName: fileName, Status: domain.JobPending,
		Total: len(p.Rows), Test: actor.APIKeyMode == domain.APIKeyTest, CreatedBy: actor.ID(), APIKeyID: actor.APIKeyID,
		CreatedAt: now}
	rows := make([]domain.BulkRow, len(p.Rows))
	for i, r := range p.Rows {
		rows[i] = domain.BulkRow{JobID: job.ID, Row: r.Row, Name: r.Name, Email: r.Email, State: r.State, Outcome: domain.OutcomePending}
		if r.State == domain.RowInvalid {
			code := "INVALID_ROW"
			if r.Quota {
				code = string(domain.CodeQuotaExceeded)
			}
			rows[i].Outcome, rows[i].Code, rows[i].Reason, rows[i].ProcessedAt = domain.OutcomeFailed, code, r.Reason, &now
			job.Failed++
		}
	}
	err = s.store.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Bulk().Create(ctx, job, rows, now.Add(work.RelayGrace)); err != nil {
			return err
		}
		return s.store.Activity().Record(ctx, domain.NewActivity(actor, orgID, domain.ActBulkSubmitted, "bulk_issuance", job.ID,
			fmt.Sprintf("%s: %d rows", job.FileName, job.Total), now))
	})
	if err != nil {
		return domain.BulkJob{}, err
	}
	s.relay.JobSubmitted(ctx, job.ID)
	return job, nil
}

// Get returns a job of the organization with its live counts.
func (s *Service) Get(ctx context.Context, actor domain.Actor, orgID, jobID string) (domain.BulkJob, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermCredentialsRead); err != nil {
		return domain.BulkJob{}, err
	}
	if !domain.IsID(jobID) {
		return domain.BulkJob{}, fmt.Errorf("bulk job %q: %w", jobID, domain.ErrNotFound)
	}
	return s.store.Bulk().Get(ctx, orgID, jobID)
}

// List pages through the organization's jobs, newest first.
func (s *Service) List(ctx context.Context, actor domain.Actor, orgID string, page ports.Page) ([]domain.BulkJob, error) {
	if _, err := s.guard.Org(ctx, actor, orgID, domain.PermCredentialsRead); err != nil {
		return nil, err
	}
	if err := domain.CheckCursor(page.After); err != nil {
		return nil, err
	}
	return s.store.Bulk().List(ctx, orgID, page)
}

// Rows pages through a job's rows in file order, optionally only those
// with one outcome.
func (s *Service) Rows(ctx context.Context, actor domain.Actor, orgID, jobID string, after, limit int, outcome domain.RowOutcome) ([]domain.BulkRow, error) {
	if _, err := s.Get(ctx, actor, orgID, jobID); err != nil {
		return nil, err
	}
	switch outcome {
	case "", domain.OutcomePending, domain.OutcomeIssued, domain.OutcomeSkipped, domain.OutcomeFailed:
	default:
		var v domain.Validator
		v.Add("query.outcome", "outcome must be pending, issued, skipped or failed", outcome)
		return nil, v.Err()
	}
	limit = min(max(limit, 1), 100)
	if limit == 1 && after < 0 {
		after = 0
	}
	return s.store.Bulk().Rows(ctx, jobID, max(after, 0), limit, outcome)
}

// Process is the task handler of work.KindBulkJob: it takes the job (when
// no live worker holds it) and issues its pending rows chunk by chunk.
// Each chunk's credentials, quota, mail and row outcomes commit together
// under the job's lease, so a worker killed at any point leaves every row
// either done or pending, and the next owner takes up the pending ones:
// every row is issued once.
func (s *Service) Process(ctx context.Context, t ports.Task) error {
	var task work.JobTask
	if err := json.Unmarshal(t.Payload, &task); err != nil || task.JobID == "" {
		return fmt.Errorf("bulk task %q: %w", t.Payload, ports.ErrPermanent)
	}
	owner := domain.NewID()
	now := s.clock.Now()
	job, ok, err := s.store.Bulk().Acquire(ctx, task.JobID, owner, now, now.Add(s.opts.JobLease))
	if err != nil || !ok {
		return err
	}
	log := s.log.With("job", job.ID, "org", job.OrgID)
	log.InfoContext(ctx, "bulk job started", "total", job.Total, "done", job.Processed())
	started := time.Now()
	mails, err := s.process(ctx, job, owner)
	// The job's mail is relayed when it stops, after its end is recorded
	// (issuance first: mail must not slow it down, nor hold up its
	// bulk_issuance.completed behind thousands of mails in the queue);
	// mail of a job that runs long goes out meanwhile anyway, by the
	// sweep, work.RelayGrace after its chunk committed.
	defer func() { s.relay.MailsQueued(context.WithoutCancel(ctx), mails...) }()
	switch {
	case errors.Is(err, ports.ErrLeaseLost):
		log.WarnContext(ctx, "bulk job taken over by another worker")
		return nil
	case err != nil:
		if code := domain.CodeOf(err); jobLevel[code] {
			log.WarnContext(ctx, "bulk job failed", "code", code, "err", err)
			_, err = s.finish(ctx, job, owner, domain.JobFailed, string(code), err.Error())
			return err
		}
		// Give the job up at once (a shutdown, a database hiccup): the
		// queue's retry or the next sweep takes it up where it stopped.
		log.WarnContext(ctx, "bulk job interrupted", "err", err)
		if rerr := s.store.Bulk().Release(context.WithoutCancel(ctx), job.ID, owner, s.clock.Now()); rerr != nil {
			log.ErrorContext(ctx, "release bulk job failed", "err", rerr)
		}
		return err
	}
	done, err := s.finish(ctx, job, owner, domain.JobCompleted, "", "")
	if err == nil {
		log.InfoContext(ctx, "bulk job completed", "issued", done.Issued, "skipped", done.Skipped, "failed", done.Failed,
			"took", time.Since(started).Round(time.Millisecond))
	}
	return err
}

// committers is how many chunks of a job commit at once.
const committers = 2

// jobLevel are the refusals that stop a whole job: they hold for every
// row alike.
var jobLevel = map[domain.Code]bool{
	domain.CodeOrgNotApproved: true, domain.CodeBadgeInactive: true, domain.CodeSigningKeysMissing: true,
	domain.CodeForbidden: true, domain.CodeNotFound: true, domain.CodeUnauthenticated: true,
}

func (s *Service) process(ctx context.Context, job domain.BulkJob, owner string) ([]string, error) {
	actor := domain.Actor{UserID: job.CreatedBy}
	if job.APIKeyID != "" {
		actor = domain.Actor{APIKeyID: job.APIKeyID, APIKeyOrg: job.OrgID, APIKeyMode: domain.APIKeyLive}
		if job.Test {
			actor.APIKeyMode = domain.APIKeyTest
		}
	}
	// A pipeline of two: the next chunk is read, planned and signed while
	// the previous one commits.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prepared := make(chan preparedChunk, committers)
	go func() {
		defer close(prepared)
		after := 0
		for {
			rows, err := s.store.Bulk().Rows(ctx, job.ID, after, s.opts.ChunkSize, domain.OutcomePending)
			if err == nil && len(rows) == 0 {
				return
			}
			var p preparedChunk
			if err == nil {
				after = rows[len(rows)-1].Row
				p, err = s.prepare(ctx, job, actor, rows)
			}
			p.err = err
			select {
			case prepared <- p:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// The mail its chunks queued, for Process to relay.
	var mails []string
	var mu sync.Mutex
	// Committers side by side: a chunk's transaction waits on the
	// database much of its time (and its rows are its own).
	errs := make(chan error, committers)
	for range committers {
		go func() {
			for p := range prepared {
				err := p.err
				if err == nil {
					var ids []string
					err = s.commit(ctx, job, owner, actor, p, &ids)
					mu.Lock()
					mails = append(mails, ids...)
					mu.Unlock()
				}
				if err != nil {
					cancel()
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range committers {
		if err := <-errs; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	if first != nil {
		return mails, first
	}
	return mails, ctx.Err()
}

// preparedChunk is a chunk of rows ready to commit: the rows failing their
// own checks, and the batch of the others.
type preparedChunk struct {
	rows    []domain.BulkRow
	invalid []domain.BulkRow
	rcpts   []domain.Recipient
	pick    []int // rows[pick[i]] is rcpts[i]
	batch   *credentials.Batch
	err     error
}

func (s *Service) prepare(ctx context.Context, job domain.BulkJob, actor domain.Actor, rows []domain.BulkRow) (preparedChunk, error) {
	p := preparedChunk{rows: rows}
	for i, r := range rows {
		name, reason := CheckRow(domain.CSVRow{Row: r.Row, Name: r.Name, Email: r.Email})
		if reason != "" {
			p.invalid = append(p.invalid, s.outcome(r, domain.OutcomeFailed, "", "INVALID_ROW", reason))
			continue
		}
		p.rcpts = append(p.rcpts, domain.Recipient{Name: name, Email: r.Email})
		p.pick = append(p.pick, i)
	}
	var err error
	p.batch, err = s.creds.PrepareBatch(ctx, actor, job.OrgID, job.BadgeID, p.rcpts)
	return p, err
}

// commit commits a chunk in one batch or, when the batch met a concurrent
// issue to one of its recipients, one row at a time.
func (s *Service) commit(ctx context.Context, job domain.BulkJob, owner string, actor domain.Actor, p preparedChunk, mails *[]string) error {
	_, err := p.batch.Commit(ctx, func(ctx context.Context, results []credentials.BatchResult) error {
		done := append([]domain.BulkRow(nil), p.invalid...)
		for i, res := range results {
			done = append(done, s.result(p.rows[p.pick[i]], res.Issued, res.Err))
		}
		return s.record(ctx, job, owner, done...)
	})
	*mails = append(*mails, p.batch.Mails...)
	if !errors.Is(err, credentials.ErrBatchConflict) {
		return err
	}
	if len(p.invalid) > 0 {
		if err := s.record(ctx, job, owner, p.invalid...); err != nil {
			return err
		}
	}
	for i, rcpt := range p.rcpts {
		row := p.rows[p.pick[i]]
		_, err := s.creds.IssueWith(ctx, actor, job.OrgID, credentials.IssueInput{BadgeID: job.BadgeID, Recipient: rcpt},
			func(ctx context.Context, is credentials.Issued) error {
				return s.record(ctx, job, owner, s.result(row, &is, nil))
			})
		if err == nil {
			continue
		}
		if code := domain.CodeOf(err); jobLevel[code] || errors.Is(err, ports.ErrLeaseLost) || code == "" {
			return err
		}
		if err := s.record(ctx, job, owner, s.result(row, nil, err)); err != nil {
			return err
		}
	}
	return nil
}

// result is a row's outcome: issued, skipped for an active non-expiring
// credential, or failed with the refusal's code.
func (s *Service) result(row domain.BulkRow, is *credentials.Issued, err error) domain.BulkRow {
	var dup *domain.DuplicateError
	switch {
	case err == nil && is != nil:
		return s.outcome(row, domain.OutcomeIssued, is.Credential.ID, "", "")
	case errors.As(err, &dup):
		return s.outcome(row, domain.OutcomeSkipped, dup.Existing, string(domain.CodeDuplicateCredential), SkipReason(dup.Existing))
	default:
		code := string(domain.CodeOf(err))
		if code == "" {
			code = "ISSUE_FAILED"
		}
		return s.outcome(row, domain.OutcomeFailed, "", code, err.Error())
	}
}

func (s *Service) outcome(row domain.BulkRow, o domain.RowOutcome, id domain.CredentialID, code, reason string) domain.BulkRow {
	at := domain.Truncate(s.clock.Now())
	row.Outcome, row.CredentialID, row.Code, row.Reason, row.ProcessedAt = o, id, code, reason, &at
	return row
}

func (s *Service) record(ctx context.Context, job domain.BulkJob, owner string, rows ...domain.BulkRow) error {
	return s.store.Bulk().Record(ctx, job.ID, owner, rows, s.clock.Now().Add(s.opts.JobLease))
}

// finish ends the job and records bulk_issuance.completed (whatever the
// final status: the event tells the job is over) in one transaction.
func (s *Service) finish(ctx context.Context, job domain.BulkJob, owner string, status domain.JobStatus, code, reason string) (domain.BulkJob, error) {
	var done domain.BulkJob
	var hooks []string
	err := s.store.WithinTx(ctx, func(ctx context.Context) error {
		hooks = nil
		now := domain.Truncate(s.clock.Now())
		var err error
		if done, err = s.store.Bulk().Finish(ctx, job.ID, owner, status, reason, code, now); err != nil {
			return err
		}
		payload, err := json.Marshal(map[string]any{"id": done.ID, "badgeId": done.BadgeID, "status": done.Status,
			"total": done.Total, "issued": done.Issued, "skipped": done.Skipped, "failed": done.Failed, "error": done.Error})
		if err != nil {
			return err
		}
		e := domain.Event{ID: "evt_" + domain.NewID(), OrgID: done.OrgID, Type: domain.EventBulkIssuanceCompleted,
			SubjectID: done.ID, Payload: payload, CreatedAt: now}
		if done.Status == domain.JobFailed {
			e.Type = domain.EventBulkIssuanceFailed
		}
		if s.events == nil {
			return s.store.Events().Record(ctx, e)
		}
		org, err := s.store.Orgs().Get(ctx, done.OrgID)
		if err != nil {
			return err
		}
		if hooks, err = s.events.Emit(ctx, org, done.Test, e); err != nil || len(hooks) > 0 {
			return err
		}
		return s.store.Events().Record(ctx, e) // recorded, if delivered nowhere
	})
	if err == nil && s.events != nil {
		s.events.Queued(ctx, hooks...)
	}
	if errors.Is(err, ports.ErrLeaseLost) {
		return done, nil
	}
	return done, err
}
