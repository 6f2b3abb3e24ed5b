package store

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// makeVCRecord returns a record of org at place index of list (not stored).
func makeVCRecord(orgID, list string, index int, vcID string) domain.VCRecord {
	return domain.VCRecord{ID: domain.NewCredentialID(), OrgID: orgID, VCID: vcID, Digest: uniq() + uniq(),
		IssuedAt: t0, ValidFrom: ptr(t0), Slot: domain.StatusSlot{List: list, Index: index},
		KeyID: "did:web:x:issuers:y#k1", JWS: "h." + uniq() + ".s", CreatedBy: domain.NewID()}
}

// VCRecords: "Insert stores a new record; its ID or its digest taken
// returns ErrIDTaken"; ByDigest finds it within its organization only;
// ForUpdate returns the records of a credential id newest first; Update
// stores revocation and suspension; the list's Entries count records
// beside badge credentials.
func testVCRecords(t *testing.T, s ports.Store) {
	ctx := t.Context()
	is := newIssuer(t, s)
	l := newStatusList(t, s, is.org.ID)
	first := makeVCRecord(is.org.ID, l.ID, 7, "urn:uuid:one")
	first.ValidUntil = ptr(t0.Add(48 * 3600e9))
	must(t, s.VCRecords().Insert(ctx, first))
	got, err := s.VCRecords().ByDigest(ctx, is.org.ID, first.Digest)
	must(t, err)
	equal(t, got, first)
	if _, err := s.VCRecords().ByDigest(ctx, newOrg(t, s).ID, first.Digest); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("another organization's ByDigest = %v, want not found", err)
	}
	sameID := makeVCRecord(is.org.ID, l.ID, 9, "urn:uuid:two")
	sameID.ID = first.ID
	sameDigest := makeVCRecord(is.org.ID, l.ID, 10, "urn:uuid:two")
	sameDigest.Digest = first.Digest
	for name, r := range map[string]domain.VCRecord{"ID": sameID, "digest": sameDigest} {
		if err := s.VCRecords().Insert(ctx, r); !errors.Is(err, ports.ErrIDTaken) {
			t.Errorf("a record with a taken %s = %v, want ErrIDTaken", name, err)
		}
	}

	// Two more records of one credential id, issued later: newest first.
	second := makeVCRecord(is.org.ID, l.ID, 11, "urn:uuid:one")
	second.IssuedAt = t0.Add(3600e9)
	must(t, s.VCRecords().Insert(ctx, second))
	must(t, s.VCRecords().Insert(ctx, makeVCRecord(is.org.ID, l.ID, 12, "urn:uuid:other")))
	err = s.WithinTx(ctx, func(ctx context.Context) error {
		rs, err := s.VCRecords().ForUpdate(ctx, is.org.ID, "urn:uuid:one", 10)
		must(t, err)
		if len(rs) != 2 || rs[0].ID != second.ID || rs[1].ID != first.ID {
			t.Errorf("ForUpdate = %+v, want the two records of urn:uuid:one, newest first", rs)
		}
		rs, err = s.VCRecords().ForUpdate(ctx, is.org.ID, "urn:uuid:none", 10)
		must(t, err)
		equal(t, len(rs), 0)
		return nil
	})
	must(t, err)

	// Revoke one, suspend the other; a badge credential suspended in the
	// same list: Entries reads both kinds.
	first.RevokedAt, first.RevocationReason = ptr(t0), "r"
	must(t, s.VCRecords().Update(ctx, first))
	second.SuspendedAt, second.SuspensionReason = ptr(t0), "s"
	must(t, s.VCRecords().Update(ctx, second))
	c := is.credential(newEmail(), t0)
	c.Slot = &domain.StatusSlot{List: l.ID, Index: 3}
	c.SuspendedAt, c.SuspensionReason = ptr(t0), "s"
	must(t, s.Credentials().Insert(ctx, c))
	got, err = s.VCRecords().ByDigest(ctx, is.org.ID, first.Digest)
	must(t, err)
	equal(t, got, first)
	revoked, suspended, err := s.StatusLists().Entries(ctx, l.ID)
	must(t, err)
	slices.Sort(suspended)
	equal(t, revoked, []int{7})
	equal(t, suspended, []int{3, 11})
	if err := s.VCRecords().Update(ctx, makeVCRecord(is.org.ID, l.ID, 20, "x")); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Update of an unknown record = %v, want not found", err)
	}
}
