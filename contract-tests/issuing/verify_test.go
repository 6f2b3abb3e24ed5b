package issuing

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/work"
)

// approved makes the world's organization an approved issuer with an
// ES256 key.
func (w *world) approved(t *testing.T) {
	t.Helper()
	w.decide(t, orgs.Approve)
	if _, err := w.orgs.GenerateKeys(context.Background(), w.owner, w.orgID, domain.AlgES256); err != nil {
		t.Fatal(err)
	}
}

func (w *world) issueTo(t *testing.T, email string) domain.Credential {
	t.Helper()
	is, err := w.creds.Issue(context.Background(), w.owner, w.orgID, credentials.IssueInput{BadgeID: w.badge.ID,
		Recipient: domain.Recipient{Name: "Rae Recipient", Email: email}})
	if err != nil {
		t.Fatal(err)
	}
	return is.Credential
}

func (w *world) verify(t *testing.T, id domain.CredentialID) credentials.Verification {
	t.Helper()
	v, err := w.creds.Verify(context.Background(), domain.Actor{}, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// exec runs a statement straight on the database, as someone with access
// to it (not the application) would.
func (w *world) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	res, err := w.store.DB().ExecContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s: %d rows", query, n)
	}
}

func checkOf(t *testing.T, v credentials.Verification, name domain.CheckName) domain.Check {
	t.Helper()
	for _, c := range v.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, v.Checks)
	return domain.Check{}
}

// Verification keeps the signature check of a stored credential, but what
// can change shows on the very next verification: revocation, the
// issuer's suspension, the key's retirement by rotation; and a key made by
// rotation verifies at once.
func TestVerificationStaysExact(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		w.approved(t)
		c := w.issueTo(t, "exact@issuing.example")
		for range 2 { // the second is answered with the kept signature check
			if v := w.verify(t, c.ID); v.Result != domain.ResultPending || !strings.Contains(checkOf(t, v, domain.CheckSignature).Detail, "active key") {
				t.Fatalf("fresh credential: %s %+v", v.Result, v.Checks)
			}
		}

		if _, err := w.orgs.RotateKeys(context.Background(), w.owner, w.orgID); err != nil {
			t.Fatal(err)
		}
		if sig := checkOf(t, w.verify(t, c.ID), domain.CheckSignature); !sig.OK || !strings.Contains(sig.Detail, "retired key") {
			t.Errorf("after rotation: %+v", sig)
		}
		rotated := w.issueTo(t, "rotated@issuing.example")
		if v := w.verify(t, rotated.ID); v.Result != domain.ResultPending || rotated.KeyID == c.KeyID {
			t.Errorf("signed by the new key %s: %s %+v", rotated.KeyID, v.Result, v.Checks)
		}

		w.decide(t, orgs.Suspend)
		if is := checkOf(t, w.verify(t, c.ID), domain.CheckIssuer); !strings.Contains(is.Detail, "is suspended") {
			t.Errorf("after the issuer's suspension: %+v", is)
		}
		w.exec(t, "UPDATE organizations SET status = ? WHERE id = ?", string(domain.OrgRejected), w.orgID)
		if v := w.verify(t, c.ID); v.Result != domain.ResultInvalid || checkOf(t, v, domain.CheckIssuer).OK {
			t.Errorf("issuer no longer approved: %s %+v", v.Result, v.Checks)
		}
		w.exec(t, "UPDATE organizations SET status = ? WHERE id = ?", string(domain.OrgApproved), w.orgID)

		if _, err := w.creds.Revoke(context.Background(), w.owner, w.orgID, c.ID, "issued in error"); err != nil {
			t.Fatal(err)
		}
		if v := w.verify(t, c.ID); v.Result != domain.ResultRevoked || checkOf(t, v, domain.CheckRevocation).OK {
			t.Errorf("after revocation: %s %+v", v.Result, v.Checks)
		}

		past := time.Now().Add(-time.Hour).UTC()
		w.exec(t, "UPDATE credentials SET revoked_at = NULL, revocation_reason = '', expires_at = ? WHERE id = ?", past, string(rotated.ID))
		v := w.verify(t, rotated.ID)
		if checkOf(t, v, domain.CheckExpiry).OK || checkOf(t, v, domain.CheckIntegrity).OK {
			t.Errorf("expiry moved in the database: %s %+v", v.Result, v.Checks)
		}
	})
}

// A stored record tampered with in the database is caught after its
// signature check was kept: a field the document signs, the badge, and the
// stored JWS itself.
func TestVerificationCatchesTamperingAfterCaching(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		w.approved(t)
		c := w.issueTo(t, "tamper@issuing.example")
		if v := w.verify(t, c.ID); v.Result != domain.ResultPending {
			t.Fatalf("fresh credential: %s %+v", v.Result, v.Checks)
		}

		w.exec(t, "UPDATE credentials SET recipient_name = ? WHERE id = ?", "Mallory", string(c.ID))
		if in := checkOf(t, w.verify(t, c.ID), domain.CheckIntegrity); in.OK || !strings.Contains(in.Detail, "credentialSubject.name") {
			t.Errorf("recipient renamed in the database: %+v", in)
		}
		w.exec(t, "UPDATE credentials SET recipient_name = ? WHERE id = ?", c.RecipientName, string(c.ID))
		w.exec(t, "UPDATE badges SET description = ? WHERE id = ?", "Knows everything", w.badge.ID)
		if in := checkOf(t, w.verify(t, c.ID), domain.CheckIntegrity); in.OK || !strings.Contains(in.Detail, "achievement.description") {
			t.Errorf("badge changed in the database: %+v", in)
		}
		w.exec(t, "UPDATE badges SET description = ? WHERE id = ?", w.badge.Description, w.badge.ID)
		if v := w.verify(t, c.ID); v.Result != domain.ResultPending {
			t.Fatalf("restored: %s %+v", v.Result, v.Checks)
		}

		// The payload rewritten to another recipient, with the signature
		// left as it was: other bytes, checked afresh.
		parts := strings.Split(c.JWS, ".")
		forged := parts[0] + "." + parts[1][:len(parts[1])-8] + "AAAAAAAA" + "." + parts[2]
		w.exec(t, "UPDATE credentials SET jws = ? WHERE id = ?", forged, string(c.ID))
		v := w.verify(t, c.ID)
		if sig := checkOf(t, v, domain.CheckSignature); sig.OK || v.Result != domain.ResultInvalid {
			t.Errorf("stored JWS changed in the database: %s %+v", v.Result, v.Checks)
		}
	})
}

// Verifications are counted in memory and added to the store by Flush;
// usage reads both, and counts that could not be added are kept.
func TestVerificationsCountedInMemory(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, dsn string) {
		w := newWorld(t, dsn)
		tally := work.NewTally(w.store, nil, time.Hour)
		w.creds.UseTally(tally)
		w.orgs.UseTally(tally)
		w.approved(t)
		c := w.issueTo(t, "count@issuing.example")
		ctx := context.Background()
		stored := func() int64 {
			t.Helper()
			n, err := w.store.Orgs().Verifications(ctx, w.orgID)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		usage := func() int64 {
			t.Helper()
			u, err := w.orgs.Usage(ctx, w.owner, w.orgID)
			if err != nil {
				t.Fatal(err)
			}
			return u.Verifications
		}
		for range 3 {
			w.verify(t, c.ID)
		}
		if stored() != 0 || usage() != 3 {
			t.Fatalf("3 verifications before a flush: stored %d, usage %d; want 0 and 3", stored(), usage())
		}
		if err := tally.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		w.verify(t, c.ID)
		if stored() != 3 || usage() != 4 || tally.Pending(w.orgID) != 1 {
			t.Fatalf("after a flush and one more: stored %d, usage %d, pending %d; want 3, 4, 1", stored(), usage(), tally.Pending(w.orgID))
		}
		// Another replica's counts add up with this one's.
		if err := w.store.Orgs().AddVerifications(ctx, w.orgID, 10); err != nil {
			t.Fatal(err)
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if err := tally.Flush(canceled); err == nil {
			t.Fatal("a flush that cannot write reports no error")
		}
		if tally.Pending(w.orgID) != 1 || usage() != 14 {
			t.Fatalf("after a failed flush: pending %d, usage %d; want 1 and 14", tally.Pending(w.orgID), usage())
		}
		if err := tally.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if stored() != 14 {
			t.Fatalf("stored %d, want 14", stored())
		}
	})
}

// Run adds what was counted when its context ends (a clean shutdown),
// without waiting for the interval.
func TestTallyRunFlushesAtShutdown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, harness.FreshSQLitePath(t))
	tally := work.NewTally(w.store, nil, time.Hour)
	for range 7 {
		tally.Count(w.orgID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tally.Run(ctx); close(done) }()
	cancel()
	<-done
	if n, err := w.store.Orgs().Verifications(context.Background(), w.orgID); err != nil || n != 7 {
		t.Fatalf("after shutdown: %d, %v; want 7", n, err)
	}
}
