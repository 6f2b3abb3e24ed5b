package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type mailRow struct {
	bun.BaseModel `bun:"table:mails,alias:m"`

	ID           string     `bun:"id,pk"`
	OrgID        string     `bun:"org_id"`
	CredentialID string     `bun:"credential_id"`
	Kind         string     `bun:"kind"`
	To           string     `bun:"to_addr"`
	Subject      string     `bun:"subject"`
	Body         string     `bun:"body"`
	Sealed       bool       `bun:"sealed"`
	Deferred     bool       `bun:"deferred"`
	Status       string     `bun:"status"`
	Attempts     int        `bun:"attempts"`
	LastError    string     `bun:"last_error"`
	CreatedAt    time.Time  `bun:"created_at"`
	NextAttempt  time.Time  `bun:"next_attempt_at"`
	SentAt       *time.Time `bun:"sent_at"`
}

func toMailRow(m domain.Mail) mailRow {
	return mailRow{ID: m.ID, OrgID: m.OrgID, CredentialID: string(m.CredentialID), Kind: string(m.Kind), To: m.To,
		Subject: m.Subject, Body: m.Text, Sealed: m.Sealed, Deferred: m.Deferred, Status: string(m.Status), Attempts: m.Attempts, LastError: m.LastError,
		CreatedAt: m.CreatedAt.UTC(), NextAttempt: m.NextAttempt.UTC(), SentAt: utcPtr(m.SentAt)}
}

func (r *mailRow) toDomain() domain.Mail {
	return domain.Mail{ID: r.ID, OrgID: r.OrgID, CredentialID: domain.CredentialID(r.CredentialID),
		Kind: domain.MailKind(r.Kind), To: r.To, Subject: r.Subject, Text: r.Body, Sealed: r.Sealed, Deferred: r.Deferred, Status: domain.MailStatus(r.Status),
		Attempts: r.Attempts, LastError: r.LastError, CreatedAt: utc(r.CreatedAt), NextAttempt: utc(r.NextAttempt),
		SentAt: utcPtr(r.SentAt)}
}

// Mails is the bun ports.Mails.
type Mails struct{ s *Store }

var _ ports.Mails = (*Mails)(nil)

// Mails returns the mail outbox.
func (s *Store) Mails() ports.Mails { return &Mails{s} }

// Create inserts queued mails; the unique index of credential mails skips
// a second one of a kind.
func (r *Mails) Create(ctx context.Context, mails ...domain.Mail) error {
	if r.s.copyable(ctx, len(mails)) {
		// A batch of new mails (bulk issuance) has no second of a kind:
		// COPY it, under a savepoint in case it does after all.
		err := r.s.WithinTx(ctx, func(ctx context.Context) error {
			db := r.s.idb(ctx)
			if _, err := db.ExecContext(ctx, "SAVEPOINT mails_copy"); err != nil {
				return err
			}
			rows := make([][]any, len(mails))
			for i, m := range mails {
				if m.Sealed {
					return fmt.Errorf("mail %s: COPY takes no sealed mail", m.ID)
				}
				rows[i] = []any{m.ID, m.OrgID, string(m.CredentialID), string(m.Kind), m.To, m.Subject, m.Text,
					string(domain.MailQueued), m.CreatedAt, m.NextAttempt}
			}
			_, err := r.s.copyRows(ctx, "mails", strings.Split(insertMailColumns, ", "), rows)
			if isUniqueViolation(err) {
				if _, err := db.ExecContext(ctx, "ROLLBACK TO SAVEPOINT mails_copy"); err != nil {
					return err
				}
				return r.insert(ctx, mails)
			}
			if err != nil {
				return err
			}
			_, err = db.ExecContext(ctx, "RELEASE SAVEPOINT mails_copy")
			return err
		})
		if err != nil {
			return fmt.Errorf("queue %d mails: %w", len(mails), err)
		}
		return nil
	}
	return r.insert(ctx, mails)
}

func (r *Mails) insert(ctx context.Context, mails []domain.Mail) error {
	for start := 0; start < len(mails); start += rowBatch {
		part := mails[start:min(start+rowBatch, len(mails))]
		rows := make([]mailRow, len(part))
		for i, m := range part {
			rows[i] = toMailRow(m)
			rows[i].Status = string(domain.MailQueued)
		}
		if _, err := r.s.idb(ctx).NewInsert().Model(&rows).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("queue %d mails: %w", len(part), err)
		}
	}
	return nil
}

// Get returns a mail.
func (r *Mails) Get(ctx context.Context, id string) (domain.Mail, error) {
	var row mailRow
	if err := r.s.idb(ctx).NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return domain.Mail{}, notFound(err, "mail "+id)
	}
	return row.toDomain(), nil
}

var unsent = bun.List([]string{string(domain.MailQueued), string(domain.MailSending)})

// Due claims mails due for an attempt.
func (r *Mails) Due(ctx context.Context, now, leaseUntil time.Time, n int) ([]string, error) {
	var ids []string
	err := r.s.WithinTx(ctx, func(ctx context.Context) error {
		db := r.s.idb(ctx)
		q := db.NewSelect().Model((*mailRow)(nil)).Column("id").
			Where("status IN (?)", unsent).Where("next_attempt_at <= ?", now.UTC()).Order("next_attempt_at").Limit(int64(n))
		if r.s.dialect == DialectPostgres {
			q = q.For("UPDATE SKIP LOCKED")
		}
		if err := q.Scan(ctx, &ids); err != nil || len(ids) == 0 {
			return err
		}
		// A sending mail whose lease ended lost its attempt: queued again,
		// or Claim would take the mark for a live lease and refuse it.
		_, err := db.NewUpdate().Model((*mailRow)(nil)).Set("next_attempt_at = ?", leaseUntil.UTC()).
			Set("status = ?", string(domain.MailQueued)).
			Where("id IN (?)", bun.List(ids)).Exec(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("due mails: %w", err)
	}
	return ids, nil
}

// Claim starts attempts with one conditional UPDATE … RETURNING: of
// concurrent claimers of a mail one gets it. A mail is claimable when it
// is queued (whenever it is due: the relay decides when) or sending with
// an ended lease.
func (r *Mails) Claim(ctx context.Context, ids []string, now, leaseUntil time.Time) ([]domain.Mail, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []mailRow
	err := r.s.idb(ctx).NewUpdate().Model((*mailRow)(nil)).
		Set("status = ?", string(domain.MailSending)).Set("attempts = attempts + 1").
		Set("next_attempt_at = ?", leaseUntil.UTC()).
		Where("id IN (?)", bun.List(ids)).
		Where("(status = ? OR (status = ? AND next_attempt_at <= ?))", string(domain.MailQueued), string(domain.MailSending), now.UTC()).
		Returning("*").Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("claim %d mails: %w", len(ids), err)
	}
	out := make([]domain.Mail, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Sent marks mails delivered.
func (r *Mails) Sent(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := r.s.idb(ctx).NewUpdate().Model((*mailRow)(nil)).
		Set("status = ?", string(domain.MailSent)).Set("sent_at = ?", at.UTC()).Set("last_error = ''").
		Where("id IN (?)", bun.List(ids)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark %d mails sent: %w", len(ids), err)
	}
	return nil
}

// Retry records a failed attempt and when to try again.
func (r *Mails) Retry(ctx context.Context, id, errMsg string, next time.Time) error {
	return r.set(ctx, id, "retry mail", func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("status = ?", string(domain.MailQueued)).Set("last_error = ?", errMsg).Set("next_attempt_at = ?", next.UTC())
	})
}

// Fail records the last failed attempt.
func (r *Mails) Fail(ctx context.Context, id, errMsg string) error {
	return r.set(ctx, id, "fail mail", func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("status = ?", string(domain.MailFailed)).Set("last_error = ?", errMsg)
	})
}

// Compose writes what a deferred mail turned out to be, provided it is
// still deferred.
func (r *Mails) Compose(ctx context.Context, id string, kind domain.MailKind, subject, text string, sealed bool) error {
	return r.settle(ctx, id, "compose mail", func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("kind = ?", string(kind)).Set("subject = ?", subject).Set("body = ?", text).Set("sealed = ?", sealed)
	})
}

// Drop ends a deferred mail dropped, erasing its address and text,
// provided it is still deferred.
func (r *Mails) Drop(ctx context.Context, id, reason string) error {
	return r.settle(ctx, id, "drop mail", func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("status = ?", string(domain.MailDropped)).Set("last_error = ?", reason).
			Set("to_addr = ''").Set("body = ''").Set("sealed = ?", false)
	})
}

// settle applies set to a mail still deferred and makes it an ordinary
// one: one conditional UPDATE, so of concurrent attempts one settles it.
func (r *Mails) settle(ctx context.Context, id, what string, set func(*bun.UpdateQuery) *bun.UpdateQuery) error {
	db := r.s.idb(ctx)
	n, err := affected(set(db.NewUpdate().Model((*mailRow)(nil))).Set("deferred = ?", false).
		Where("id = ?", id).Where("deferred").Exec(ctx))
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	if n == 0 {
		if err := exists(ctx, db, (*mailRow)(nil), what+" "+id, "id = ?", id); err != nil {
			return err
		}
		return fmt.Errorf("%s %s: already composed: %w", what, id, domain.ErrInvalidState)
	}
	return nil
}

func (r *Mails) set(ctx context.Context, id, what string, set func(*bun.UpdateQuery) *bun.UpdateQuery) error {
	n, err := affected(set(r.s.idb(ctx).NewUpdate().Model((*mailRow)(nil))).Where("id = ?", id).Exec(ctx))
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", what, id, domain.ErrNotFound)
	}
	return nil
}

// Latest returns the newest mail about the credential.
func (r *Mails) Latest(ctx context.Context, credentialID domain.CredentialID) (domain.Mail, error) {
	var row mailRow
	err := r.s.idb(ctx).NewSelect().Model(&row).Where("credential_id = ?", string(credentialID)).
		OrderExpr("created_at DESC, id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return domain.Mail{}, notFound(err, "mail of credential "+string(credentialID))
	}
	return row.toDomain(), nil
}

type eventRow struct {
	bun.BaseModel `bun:"table:events,alias:e"`

	ID        string    `bun:"id,pk"`
	OrgID     string    `bun:"org_id"`
	Type      string    `bun:"type"`
	SubjectID string    `bun:"subject_id"`
	Payload   string    `bun:"payload"`
	CreatedAt time.Time `bun:"created_at"`
}

// Events is the bun ports.Events.
type Events struct{ s *Store }

var _ ports.Events = (*Events)(nil)

// Events returns the event record.
func (s *Store) Events() ports.Events { return &Events{s} }

// Record stores events, rowBatch to a statement.
func (r *Events) Record(ctx context.Context, es ...domain.Event) error {
	for start := 0; start < len(es); start += rowBatch {
		part := es[start:min(start+rowBatch, len(es))]
		rows := make([]eventRow, len(part))
		for i, e := range part {
			rows[i] = eventRow{ID: e.ID, OrgID: e.OrgID, Type: string(e.Type), SubjectID: e.SubjectID, Payload: string(e.Payload),
				CreatedAt: e.CreatedAt.UTC()}
		}
		if _, err := r.s.idb(ctx).NewInsert().Model(&rows).Exec(ctx); err != nil {
			return fmt.Errorf("record %d events (%s): %w", len(part), part[0].Type, err)
		}
	}
	return nil
}

// List returns the organization's events, oldest first.
func (r *Events) List(ctx context.Context, orgID string, page ports.Page) ([]domain.Event, error) {
	var rows []eventRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Where("org_id = ?", orgID)
	if page.After != "" {
		q = q.Where("(created_at, id) > (SELECT created_at, id FROM events WHERE id = ?)", page.After)
	}
	if err := q.OrderExpr("created_at, id").Limit(limit(page.Limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list events of organization %s: %w", orgID, err)
	}
	out := make([]domain.Event, len(rows))
	for i, row := range rows {
		out[i] = domain.Event{ID: row.ID, OrgID: row.OrgID, Type: domain.EventType(row.Type), SubjectID: row.SubjectID,
			Payload: []byte(row.Payload), CreatedAt: utc(row.CreatedAt)}
	}
	return out, nil
}
