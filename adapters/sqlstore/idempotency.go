package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/ports"
)

type idempotencyRow struct {
	bun.BaseModel `bun:"table:idempotency_keys,alias:ik"`

	Scope       string    `bun:"scope,pk"`
	Key         string    `bun:"idem_key,pk"`
	Token       string    `bun:"token"`
	RequestHash []byte    `bun:"request_hash"`
	CreatedAt   time.Time `bun:"created_at"`
	LeaseUntil  time.Time `bun:"lease_until"`
	ExpiresAt   time.Time `bun:"expires_at"`
	Status      int       `bun:"status"` // 0 while unfinished
	Header      string    `bun:"header"` // JSON object, written and read here
	Body        []byte    `bun:"body"`
}

func (r *idempotencyRow) toPort() (ports.IdempotencyRecord, error) {
	rec := ports.IdempotencyRecord{Scope: r.Scope, Key: r.Key, Token: r.Token, RequestHash: r.RequestHash,
		CreatedAt: utc(r.CreatedAt), LeaseUntil: utc(r.LeaseUntil), ExpiresAt: utc(r.ExpiresAt)}
	if r.Status == 0 {
		return rec, nil
	}
	resp := &ports.StoredResponse{Status: r.Status, Body: r.Body}
	if len(resp.Body) == 0 {
		resp.Body = nil // an empty bytea and an empty BLOB read back alike
	}
	if err := json.Unmarshal([]byte(r.Header), &resp.Header); err != nil {
		return ports.IdempotencyRecord{}, fmt.Errorf("decode stored header: %w", err)
	}
	if len(resp.Header) == 0 {
		resp.Header = nil
	}
	rec.Response = resp
	return rec, nil
}

// Idempotency is the bun ports.Idempotency.
type Idempotency struct{ s *Store }

var _ ports.Idempotency = (*Idempotency)(nil)

// Idempotency returns the store of Idempotency-Key responses. It is not part
// of ports.Store: only the HTTP edge uses it.
func (s *Store) Idempotency() *Idempotency { return &Idempotency{s} }

// beginAttempts bounds Begin's retries when the record it read changes
// before it could claim it (another claim, an Abandon or a DeleteExpired
// between two statements).
const beginAttempts = 5

// Begin reads the key first, so that a replay or a waiting duplicate writes
// nothing (on SQLite every write takes the database's one write lock). A
// free key is claimed with an insert that does nothing on conflict (which
// never aborts a PostgreSQL transaction) or, when an expired or lease-ended
// record holds it, with an update conditional on the record still being
// free. Of concurrent claims the unique key (insert) or the row lock
// (PostgreSQL) and the write lock (SQLite) let one through; the others'
// statements change nothing and they read again.
func (r *Idempotency) Begin(ctx context.Context, c ports.IdempotencyClaim) (ports.IdempotencyRecord, bool, error) {
	db := r.s.idb(ctx)
	row := &idempotencyRow{Scope: c.Scope, Key: c.Key, Token: c.Token, RequestHash: c.RequestHash,
		CreatedAt: c.Now.UTC(), LeaseUntil: c.LeaseUntil.UTC(), ExpiresAt: c.ExpiresAt.UTC(), Header: "{}"}
	now := c.Now.UTC()
	for range beginAttempts {
		var held idempotencyRow
		err := db.NewSelect().Model(&held).Where("scope = ?", c.Scope).Where("idem_key = ?", c.Key).Scan(ctx)
		var n int64
		switch {
		case err == nil && !held.free(now):
			rec, err := held.toPort()
			return rec, false, err
		case err == nil:
			n, err = affected(db.NewUpdate().Model((*idempotencyRow)(nil)).
				Set("token = ?", row.Token).Set("request_hash = ?", row.RequestHash).Set("created_at = ?", row.CreatedAt).
				Set("lease_until = ?", row.LeaseUntil).Set("expires_at = ?", row.ExpiresAt).
				Set("status = 0").Set("header = '{}'").Set("body = NULL").
				Where("scope = ?", c.Scope).Where("idem_key = ?", c.Key).
				Where("(expires_at <= ? OR (status = 0 AND lease_until <= ?))", now, now).Exec(ctx))
		case isNoRows(err):
			n, err = affected(db.NewInsert().Model(row).On("CONFLICT DO NOTHING").Exec(ctx))
		}
		if err != nil {
			return ports.IdempotencyRecord{}, false, fmt.Errorf("begin idempotency key: %w", err)
		}
		if n == 1 {
			rec, err := row.toPort()
			return rec, true, err
		}
	}
	return ports.IdempotencyRecord{}, false, fmt.Errorf("begin idempotency key: the record kept changing")
}

// free reports whether a claim made at now may take the record over.
func (r *idempotencyRow) free(now time.Time) bool {
	return !r.ExpiresAt.After(now) || (r.Status == 0 && !r.LeaseUntil.After(now))
}

// Complete stores the response on the claim token holds.
func (r *Idempotency) Complete(ctx context.Context, scope, key, token string, resp ports.StoredResponse) error {
	header := []byte("{}")
	if len(resp.Header) > 0 {
		var err error
		if header, err = json.Marshal(resp.Header); err != nil {
			return fmt.Errorf("complete idempotency key: %w", err)
		}
	}
	body := resp.Body
	if body == nil {
		body = []byte{}
	}
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*idempotencyRow)(nil)).
		Set("status = ?", resp.Status).Set("header = ?", string(header)).Set("body = ?", body).
		Where("scope = ?", scope).Where("idem_key = ?", key).Where("token = ?", token).Where("status = 0").Exec(ctx))
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("complete idempotency key: %w", ports.ErrClaimLost)
	}
	return nil
}

// Abandon deletes the unfinished record token holds.
func (r *Idempotency) Abandon(ctx context.Context, scope, key, token string) error {
	n, err := affected(r.s.idb(ctx).NewDelete().Model((*idempotencyRow)(nil)).
		Where("scope = ?", scope).Where("idem_key = ?", key).Where("token = ?", token).Where("status = 0").Exec(ctx))
	if err != nil {
		return fmt.Errorf("abandon idempotency key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("abandon idempotency key: %w", ports.ErrClaimLost)
	}
	return nil
}

// DeleteExpired deletes the records that expired at or before before.
func (r *Idempotency) DeleteExpired(ctx context.Context, before time.Time) (int, error) {
	n, err := affected(r.s.idb(ctx).NewDelete().Model((*idempotencyRow)(nil)).
		Where("expires_at <= ?", before.UTC()).Exec(ctx))
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	return int(n), nil
}
