package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

type vcRecordRow struct {
	bun.BaseModel `bun:"table:vc_records,alias:vr"`

	ID               string     `bun:"id,pk"`
	OrgID            string     `bun:"org_id"`
	VCID             string     `bun:"vc_id"`
	Digest           string     `bun:"digest"`
	IssuedAt         time.Time  `bun:"issued_at"`
	ValidFrom        *time.Time `bun:"valid_from"`
	ValidUntil       *time.Time `bun:"valid_until"`
	Test             bool       `bun:"test"`
	StatusListID     string     `bun:"status_list_id"`
	StatusIndex      int        `bun:"status_index"`
	RevokedAt        *time.Time `bun:"revoked_at"`
	RevocationReason string     `bun:"revocation_reason"`
	SuspendedAt      *time.Time `bun:"suspended_at"`
	SuspensionReason string     `bun:"suspension_reason"`
	KeyID            string     `bun:"key_id"`
	JWS              string     `bun:"jws"`
	Proof            string     `bun:"proof"`
	CreatedBy        string     `bun:"created_by"`
}

func vcRecordRowOf(r domain.VCRecord) *vcRecordRow {
	return &vcRecordRow{ID: string(r.ID), OrgID: r.OrgID, VCID: r.VCID, Digest: r.Digest, IssuedAt: r.IssuedAt.UTC(),
		ValidFrom: utcPtr(r.ValidFrom), ValidUntil: utcPtr(r.ValidUntil), Test: r.Test,
		StatusListID: r.Slot.List, StatusIndex: r.Slot.Index,
		RevokedAt: utcPtr(r.RevokedAt), RevocationReason: r.RevocationReason,
		SuspendedAt: utcPtr(r.SuspendedAt), SuspensionReason: r.SuspensionReason,
		KeyID: r.KeyID, JWS: r.JWS, Proof: r.Proof, CreatedBy: r.CreatedBy}
}

func (r *vcRecordRow) toDomain() domain.VCRecord {
	return domain.VCRecord{ID: domain.CredentialID(r.ID), OrgID: r.OrgID, VCID: r.VCID, Digest: r.Digest, IssuedAt: utc(r.IssuedAt),
		ValidFrom: utcPtr(r.ValidFrom), ValidUntil: utcPtr(r.ValidUntil), Test: r.Test,
		Slot:      domain.StatusSlot{List: r.StatusListID, Index: r.StatusIndex},
		RevokedAt: utcPtr(r.RevokedAt), RevocationReason: r.RevocationReason,
		SuspendedAt: utcPtr(r.SuspendedAt), SuspensionReason: r.SuspensionReason,
		KeyID: r.KeyID, JWS: r.JWS, Proof: r.Proof, CreatedBy: r.CreatedBy}
}

// VCRecords is the bun ports.VCRecords.
type VCRecords struct{ s *Store }

var _ ports.VCRecords = (*VCRecords)(nil)

// VCRecords returns the credentials issued through the VC-API.
func (s *Store) VCRecords() ports.VCRecords { return &VCRecords{s} }

// Insert stores a new record.
func (r *VCRecords) Insert(ctx context.Context, rec domain.VCRecord) error {
	db := r.s.idb(ctx)
	err := insertUnique(ctx, db.NewInsert().Model(vcRecordRowOf(rec)), "insert VC record "+string(rec.ID),
		conflict{db.NewSelect().Model((*vcRecordRow)(nil)).Where("id = ?", string(rec.ID)), ports.ErrIDTaken},
		conflict{db.NewSelect().Model((*vcRecordRow)(nil)).Where("digest = ?", rec.Digest), ports.ErrIDTaken})
	return err
}

// ByDigest returns the organization's record of a signed payload.
func (r *VCRecords) ByDigest(ctx context.Context, orgID, digest string) (domain.VCRecord, error) {
	var row vcRecordRow
	err := r.s.idb(ctx).NewSelect().Model(&row).Where("digest = ?", digest).Where("org_id = ?", orgID).Scan(ctx)
	if err != nil {
		return domain.VCRecord{}, notFound(err, "VC record "+digest)
	}
	return row.toDomain(), nil
}

// ByVCID returns the organization's records of a credential id, newest
// first.
func (r *VCRecords) ByVCID(ctx context.Context, orgID, vcID string, limit int) ([]domain.VCRecord, error) {
	return r.byVCID(ctx, orgID, vcID, limit, false)
}

// ForUpdate returns the organization's records of a credential id,
// newest first, locked until the transaction ends.
func (r *VCRecords) ForUpdate(ctx context.Context, orgID, vcID string, limit int) ([]domain.VCRecord, error) {
	return r.byVCID(ctx, orgID, vcID, limit, true)
}

func (r *VCRecords) byVCID(ctx context.Context, orgID, vcID string, limit int, lock bool) ([]domain.VCRecord, error) {
	var rows []vcRecordRow
	q := r.s.idb(ctx).NewSelect().Model(&rows).Where("org_id = ?", orgID).Where("vc_id = ?", vcID).
		OrderExpr("vr.issued_at DESC, vr.id DESC").Limit(int64(limit))
	if lock {
		q = r.s.forUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("VC records of %q: %w", vcID, err)
	}
	out := make([]domain.VCRecord, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Update stores the record's revocation and suspension.
func (r *VCRecords) Update(ctx context.Context, rec domain.VCRecord) error {
	n, err := affected(r.s.idb(ctx).NewUpdate().Model((*vcRecordRow)(nil)).
		Set("revoked_at = ?", utcPtr(rec.RevokedAt)).Set("revocation_reason = ?", rec.RevocationReason).
		Set("suspended_at = ?", utcPtr(rec.SuspendedAt)).Set("suspension_reason = ?", rec.SuspensionReason).
		Where("id = ?", string(rec.ID)).Exec(ctx))
	if err != nil {
		return fmt.Errorf("update VC record %s: %w", rec.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("update VC record %s: %w", rec.ID, domain.ErrNotFound)
	}
	return nil
}
