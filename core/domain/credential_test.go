package domain_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

var (
	past   = t0.Add(-24 * time.Hour)
	future = t0.Add(24 * time.Hour)
)

// cred builds a credential issued a month before t0 to alice@example.com.
func cred(edit func(c *domain.Credential)) domain.Credential {
	c := domain.Credential{
		ID:             "CRD-ABCD1234",
		OrgID:          "org-1",
		BadgeID:        "badge-1",
		RecipientName:  "Alice",
		RecipientEmail: "alice@example.com",
		IssuedAt:       t0.AddDate(0, -1, 0),
		Public:         true,
		KeyID:          "did:web:example#key-1",
		JWS:            "eyJ.eyJ.sig",
	}
	if edit != nil {
		edit(&c)
	}
	return c
}

func TestValidStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    domain.CredentialStatus
		want bool
	}{
		{domain.StatusPending, true},
		{domain.StatusValid, true},
		{domain.StatusExpired, true},
		{domain.StatusRevoked, true},
		{"active", false},
		{"", false},
		{"VALID", false},
	} {
		if got := domain.ValidStatus(tc.s); got != tc.want {
			t.Errorf("ValidStatus(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestCredentialStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		claimed   bool
		revoked   bool
		expiresAt *time.Time
		now       time.Time
		want      domain.CredentialStatus
	}{
		{"pending", false, false, nil, t0, domain.StatusPending},
		{"pending_time_bound", false, false, &future, t0, domain.StatusPending},
		{"valid", true, false, nil, t0, domain.StatusValid},
		{"valid_time_bound", true, false, &future, t0, domain.StatusValid},
		{"expired_unclaimed", false, false, &past, t0, domain.StatusExpired},
		{"expired_beats_valid", true, false, &past, t0, domain.StatusExpired},
		{"revoked_pending", false, true, nil, t0, domain.StatusRevoked},
		{"revoked_beats_valid", true, true, nil, t0, domain.StatusRevoked},
		{"revoked_beats_expired", false, true, &past, t0, domain.StatusRevoked},
		{"revoked_beats_everything", true, true, &past, t0, domain.StatusRevoked},
		{"expiry_boundary_is_expired", true, false, &t0, t0, domain.StatusExpired},
		{"one_nanosecond_before_expiry", true, false, &t0, t0.Add(-time.Nanosecond), domain.StatusValid},
		{"one_nanosecond_after_expiry", false, false, &t0, t0.Add(time.Nanosecond), domain.StatusExpired},
		{"boundary_other_time_zone", false, false, &t0, t0.In(time.FixedZone("X", 7*3600)), domain.StatusExpired},
		{"never_expires_far_future", true, false, nil, t0.AddDate(200, 0, 0), domain.StatusValid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cred(func(c *domain.Credential) {
				c.ExpiresAt = tc.expiresAt
				if tc.claimed {
					c.ClaimedAt = ptr(t0.Add(-48 * time.Hour))
				}
				if tc.revoked {
					c.RevokedAt, c.RevocationReason = ptr(t0.Add(-time.Hour)), "mistake"
				}
			})
			if got := c.Status(tc.now); got != tc.want {
				t.Errorf("Status = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCredentialClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		edit  func(c *domain.Credential)
		email string
		want  *domain.Error // nil: claimed
	}{
		{"exact_email", nil, "alice@example.com", nil},
		{"case_insensitive", nil, "Alice@Example.COM", nil},
		{"whitespace_insensitive", nil, "  alice@example.com\t", nil},
		{"case_and_whitespace", nil, " ALICE@EXAMPLE.COM ", nil},
		{"time_bound_not_yet_expired", func(c *domain.Credential) { c.ExpiresAt = &future }, "alice@example.com", nil},
		{"other_email", nil, "bob@example.com", domain.ErrEmailMismatch},
		{"similar_email", nil, "alice@example.co", domain.ErrEmailMismatch},
		{"plus_address_is_another_email", nil, "alice+x@example.com", domain.ErrEmailMismatch},
		{"empty_email", nil, "", domain.ErrEmailMismatch},
		{"mismatch_wins_over_already_claimed", func(c *domain.Credential) { c.ClaimedAt = &past }, "bob@example.com", domain.ErrEmailMismatch},
		{"already_claimed", func(c *domain.Credential) { c.ClaimedAt = &past }, "alice@example.com", domain.ErrAlreadyClaimed},
		{"expired", func(c *domain.Credential) { c.ExpiresAt = &past }, "alice@example.com", domain.ErrNotClaimable},
		{"expires_exactly_now", func(c *domain.Credential) { c.ExpiresAt = &t0 }, "alice@example.com", domain.ErrNotClaimable},
		{"revoked", func(c *domain.Credential) { c.RevokedAt, c.RevocationReason = &past, "fraud" }, "alice@example.com", domain.ErrNotClaimable},
		{"revoked_and_expired", func(c *domain.Credential) {
			c.RevokedAt, c.RevocationReason, c.ExpiresAt = &past, "fraud", &past
		}, "alice@example.com", domain.ErrNotClaimable},
		{"revoked_other_email", func(c *domain.Credential) { c.RevokedAt, c.RevocationReason = &past, "fraud" }, "bob@example.com", domain.ErrEmailMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cred(tc.edit)
			before := c
			err := c.Claim(tc.email, t0)
			if tc.want != nil {
				wantErr(t, err, tc.want)
				if !reflect.DeepEqual(c, before) {
					t.Errorf("a refused claim changed the credential: %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatalf("Claim(%q): %v", tc.email, err)
			}
			if c.ClaimedAt == nil {
				t.Fatal("ClaimedAt not set")
			}
			wantTime(t, "ClaimedAt", *c.ClaimedAt, t0)
			if s := c.Status(t0); s != domain.StatusValid {
				t.Errorf("status after claim = %s, want valid", s)
			}
			wantErr(t, c.Claim(tc.email, t0.Add(time.Minute)), domain.ErrAlreadyClaimed)
		})
	}
}

func TestNotClaimableMessageNamesTheStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    domain.Credential
		word string
	}{
		{cred(func(c *domain.Credential) { c.ExpiresAt = &past }), "expired"},
		{cred(func(c *domain.Credential) { c.RevokedAt, c.RevocationReason = &past, "x" }), "revoked"},
	} {
		err := tc.c.Claim("alice@example.com", t0)
		if err == nil || !strings.Contains(err.Error(), tc.word) {
			t.Errorf("Claim error %v does not say %q", err, tc.word)
		}
	}
}

func TestCredentialRevoke(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		edit       func(c *domain.Credential)
		reason     string
		wantFields bool
		wantState  bool
		stored     string
	}{
		{"pending", nil, "issued by mistake", false, false, "issued by mistake"},
		{"valid", func(c *domain.Credential) { c.ClaimedAt = &past }, "fraud", false, false, "fraud"},
		{"expired_can_be_revoked", func(c *domain.Credential) { c.ExpiresAt = &past }, "fraud", false, false, "fraud"},
		{"reason_trimmed", nil, "  fraud \n", false, false, "fraud"},
		{"reason_multiline", nil, "fraud\nsee ticket 42", false, false, "fraud\nsee ticket 42"},
		{"reason_empty", nil, "", true, false, ""},
		{"reason_blank", nil, " \t\n ", true, false, ""},
		{"reason_too_long", nil, repeat("r", 1001), true, false, ""},
		{"reason_control_char", nil, "fraud\x00", true, false, ""},
		{"already_revoked", func(c *domain.Credential) { c.RevokedAt, c.RevocationReason = &past, "first" }, "second", false, true, ""},
		{"already_revoked_without_reason", func(c *domain.Credential) { c.RevokedAt, c.RevocationReason = &past, "first" }, "", true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cred(tc.edit)
			before := c
			err := c.Revoke(tc.reason, t0)
			switch {
			case tc.wantFields:
				wantFields(t, err, "body.reason")
			case tc.wantState:
				wantErr(t, err, domain.ErrInvalidState)
			default:
				if err != nil {
					t.Fatalf("Revoke: %v", err)
				}
				if c.RevokedAt == nil || c.RevocationReason != tc.stored {
					t.Fatalf("RevokedAt, reason = %v, %q; want set, %q", c.RevokedAt, c.RevocationReason, tc.stored)
				}
				wantTime(t, "RevokedAt", *c.RevokedAt, t0)
				if s := c.Status(t0); s != domain.StatusRevoked {
					t.Errorf("status = %s, want revoked", s)
				}
				return
			}
			if !reflect.DeepEqual(c, before) {
				t.Errorf("a refused revocation changed the credential: %+v", c)
			}
		})
	}
}

func TestCredentialRevokeTwice(t *testing.T) {
	t.Parallel()
	c := cred(nil)
	if err := c.Revoke("first", t0); err != nil {
		t.Fatal(err)
	}
	err := c.Revoke("second", t0.Add(time.Hour))
	wantErr(t, err, domain.ErrInvalidState)
	if c.RevocationReason != "first" || !c.RevokedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Errorf("second revocation changed reason or time: %q %v", c.RevocationReason, c.RevokedAt)
	}
	if err != nil && !strings.Contains(err.Error(), "CRD-ABCD1234") {
		t.Errorf("error %q does not name the credential", err)
	}
}

func TestPreIssueState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		current *domain.Credential
		want    domain.IssueState
	}{
		{"none", nil, domain.StateNew},
		{"expired", ptr(cred(func(c *domain.Credential) { c.ExpiresAt = &past })), domain.StateExpired},
		{"expired_claimed", ptr(cred(func(c *domain.Credential) { c.ExpiresAt, c.ClaimedAt = &past, &past })), domain.StateExpired},
		{"expires_exactly_now", ptr(cred(func(c *domain.Credential) { c.ExpiresAt = &t0 })), domain.StateExpired},
		{"active_time_bound_pending", ptr(cred(func(c *domain.Credential) { c.ExpiresAt = &future })), domain.StateActiveTimeBound},
		{"active_time_bound_valid", ptr(cred(func(c *domain.Credential) { c.ExpiresAt, c.ClaimedAt = &future, &past })), domain.StateActiveTimeBound},
		{"revoked", ptr(cred(func(c *domain.Credential) { c.RevokedAt = &past })), domain.StateRevoked},
		{"revoked_and_expired", ptr(cred(func(c *domain.Credential) { c.RevokedAt, c.ExpiresAt = &past, &past })), domain.StateRevoked},
		{"revoked_time_bound", ptr(cred(func(c *domain.Credential) { c.RevokedAt, c.ExpiresAt = &past, &future })), domain.StateRevoked},
		{"active_non_expiring_pending", ptr(cred(nil)), domain.StateActiveNonExpiring},
		{"active_non_expiring_valid", ptr(cred(func(c *domain.Credential) { c.ClaimedAt = &past })), domain.StateActiveNonExpiring},
		{"suspended_and_expired", ptr(cred(func(c *domain.Credential) { c.SuspendedAt, c.ExpiresAt = &past, &past })), domain.StateExpired},
		{"suspended_time_bound", ptr(cred(func(c *domain.Credential) { c.SuspendedAt, c.ExpiresAt = &past, &future })), domain.StateActiveTimeBound},
		{"suspended_non_expiring", ptr(cred(func(c *domain.Credential) { c.SuspendedAt = &past })), domain.StateActiveNonExpiring},
		{"suspended_and_revoked", ptr(cred(func(c *domain.Credential) { c.SuspendedAt, c.RevokedAt = &past, &past })), domain.StateRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.PreIssueState(tc.current, t0); got != tc.want {
				t.Errorf("PreIssueState = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestPlanIssue(t *testing.T) {
	t.Parallel()
	const oldID, newID = domain.CredentialID("CRD-OLD00001"), domain.CredentialID("CRD-NEW00001")
	for _, tc := range []struct {
		name        string
		current     *domain.Credential
		wantState   domain.IssueState
		wantRevoked bool      // the updated previous credential is revoked
		wantReason  string    // its revocation reason
		wantRevAt   time.Time // when it was revoked, for a renewal (a revoked one keeps its own)
	}{
		{"new", nil, domain.StateNew, false, "", time.Time{}},
		{"expired", ptr(cred(func(c *domain.Credential) { c.ID, c.ExpiresAt, c.ClaimedAt = oldID, &past, &past })),
			domain.StateExpired, false, "", time.Time{}},
		{"active_time_bound", ptr(cred(func(c *domain.Credential) { c.ID, c.ExpiresAt = oldID, &future })),
			domain.StateActiveTimeBound, true, domain.ReasonSupersededByRenewal, t0},
		{"active_time_bound_claimed", ptr(cred(func(c *domain.Credential) { c.ID, c.ExpiresAt, c.ClaimedAt = oldID, &future, &past })),
			domain.StateActiveTimeBound, true, domain.ReasonSupersededByRenewal, t0},
		{"revoked", ptr(cred(func(c *domain.Credential) { c.ID, c.RevokedAt, c.RevocationReason = oldID, &past, "fraud" })),
			domain.StateRevoked, true, "fraud", time.Time{}},
		{"revoked_time_bound", ptr(cred(func(c *domain.Credential) {
			c.ID, c.RevokedAt, c.RevocationReason, c.ExpiresAt = oldID, &past, "fraud", &future
		})), domain.StateRevoked, true, "fraud", time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var snapshot domain.Credential
			if tc.current != nil {
				snapshot = *tc.current
			}
			next := cred(func(c *domain.Credential) { c.ID, c.IssuedAt = newID, t0 })
			plan, err := domain.PlanIssue(&next, tc.current, t0)
			if err != nil {
				t.Fatalf("PlanIssue: %v", err)
			}
			if plan.State != tc.wantState {
				t.Errorf("state = %s, want %s", plan.State, tc.wantState)
			}
			if tc.current == nil {
				if plan.Previous != nil || next.SupersedesID != "" {
					t.Errorf("new issue linked to something: previous %+v, supersedes %q", plan.Previous, next.SupersedesID)
				}
				return
			}
			if !reflect.DeepEqual(*tc.current, snapshot) {
				t.Errorf("PlanIssue changed the caller's current credential:\n got %+v\nwant %+v", *tc.current, snapshot)
			}
			prev := plan.Previous
			if prev == nil {
				t.Fatal("Previous = nil")
			}
			if prev == tc.current {
				t.Error("Previous aliases the current credential instead of being a copy")
			}
			if next.SupersedesID != oldID || prev.SupersededByID != newID {
				t.Errorf("links: next.Supersedes = %q, prev.SupersededBy = %q; want %q and %q", next.SupersedesID, prev.SupersededByID, oldID, newID)
			}
			if next.SupersededByID != "" || prev.SupersedesID != "" {
				t.Errorf("links point the wrong way: next.SupersededBy = %q, prev.Supersedes = %q", next.SupersededByID, prev.SupersedesID)
			}
			if got := prev.RevokedAt != nil; got != tc.wantRevoked {
				t.Fatalf("previous revoked = %v, want %v", got, tc.wantRevoked)
			}
			if tc.wantRevoked {
				if prev.RevocationReason != tc.wantReason {
					t.Errorf("previous revocation reason = %q, want %q", prev.RevocationReason, tc.wantReason)
				}
				if tc.wantState == domain.StateRevoked {
					// Never un-revoked, never re-revoked: the original revocation stays.
					if !prev.RevokedAt.Equal(*snapshot.RevokedAt) {
						t.Errorf("previous RevokedAt = %v, want the original %v", *prev.RevokedAt, *snapshot.RevokedAt)
					}
				} else {
					wantTime(t, "previous RevokedAt", *prev.RevokedAt, tc.wantRevAt)
				}
				if s := prev.Status(t0); s != domain.StatusRevoked {
					t.Errorf("previous status = %s, want revoked", s)
				}
			} else if prev.RevocationReason != "" {
				t.Errorf("unrevoked previous has a reason %q", prev.RevocationReason)
			}
			// Nothing but the link and the revocation changes.
			rest := *prev
			rest.SupersededByID, rest.RevokedAt, rest.RevocationReason = snapshot.SupersededByID, snapshot.RevokedAt, snapshot.RevocationReason
			if !reflect.DeepEqual(rest, snapshot) {
				t.Errorf("PlanIssue changed other fields of the previous credential:\n got %+v\nwant %+v", rest, snapshot)
			}
		})
	}
}

func TestPlanIssueDuplicate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(c *domain.Credential)
	}{
		{"pending", func(c *domain.Credential) {}},
		{"claimed", func(c *domain.Credential) { c.ClaimedAt = &past }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			current := cred(func(c *domain.Credential) { c.ID = "CRD-EXIST001"; tc.edit(c) })
			next := cred(func(c *domain.Credential) { c.ID = "CRD-NEW00001" })
			nextBefore := next
			plan, err := domain.PlanIssue(&next, &current, t0)
			if err == nil {
				t.Fatal("PlanIssue issued a second active non-expiring credential")
			}
			var dup *domain.DuplicateError
			if !errors.As(err, &dup) {
				t.Fatalf("err = %v (%T), want *domain.DuplicateError", err, err)
			}
			if dup.Existing != "CRD-EXIST001" {
				t.Errorf("Existing = %q, want CRD-EXIST001", dup.Existing)
			}
			if !errors.Is(err, domain.ErrDuplicate) {
				t.Error("errors.Is(err, ErrDuplicate) = false")
			}
			if domain.CodeOf(err) != domain.CodeDuplicateCredential {
				t.Errorf("CodeOf = %q", domain.CodeOf(err))
			}
			if !strings.Contains(err.Error(), "CRD-EXIST001") {
				t.Errorf("message %q does not name the existing credential", err)
			}
			if plan.State != domain.StateActiveNonExpiring || plan.Previous != nil {
				t.Errorf("plan = %+v, want state active_non_expiring and no previous", plan)
			}
			if next != nextBefore {
				t.Errorf("a refused issue changed the new credential: %+v", next)
			}
			if current.RevokedAt != nil || current.SupersededByID != "" {
				t.Errorf("a refused issue changed the existing credential: %+v", current)
			}
		})
	}
}

func TestNormalizeRecipient(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   domain.Recipient
		want domain.Recipient
		bad  []string
	}{
		{"plain", domain.Recipient{"Alice", "alice@example.com"}, domain.Recipient{"Alice", "alice@example.com"}, nil},
		{"normalizes", domain.Recipient{"  Alice Smith ", "  Alice@Example.COM "}, domain.Recipient{"Alice Smith", "alice@example.com"}, nil},
		{"unicode_name", domain.Recipient{"Zoë Ñúñez 王", "z@example.com"}, domain.Recipient{"Zoë Ñúñez 王", "z@example.com"}, nil},
		{"name_200_runes", domain.Recipient{repeat("é", 200), "a@example.com"}, domain.Recipient{repeat("é", 200), "a@example.com"}, nil},
		{"name_empty", domain.Recipient{"", "a@example.com"}, domain.Recipient{}, []string{"body.recipient.name"}},
		{"name_blank", domain.Recipient{"   ", "a@example.com"}, domain.Recipient{}, []string{"body.recipient.name"}},
		{"name_201_runes", domain.Recipient{repeat("é", 201), "a@example.com"}, domain.Recipient{}, []string{"body.recipient.name"}},
		{"name_newline", domain.Recipient{"Alice\nSmith", "a@example.com"}, domain.Recipient{}, []string{"body.recipient.name"}},
		{"email_empty", domain.Recipient{"Alice", ""}, domain.Recipient{}, []string{"body.recipient.email"}},
		{"email_no_at", domain.Recipient{"Alice", "alice.example.com"}, domain.Recipient{}, []string{"body.recipient.email"}},
		{"email_display_name", domain.Recipient{"Alice", "Alice <alice@example.com>"}, domain.Recipient{}, []string{"body.recipient.email"}},
		{"both_bad", domain.Recipient{"", "nope"}, domain.Recipient{}, []string{"body.recipient.name", "body.recipient.email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := domain.NormalizeRecipient(tc.in)
			wantFields(t, err, tc.bad...)
			if tc.bad == nil && got != tc.want {
				t.Errorf("NormalizeRecipient = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestMaskEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"rita@example.com", "r***@example.com"},
		{"r@example.com", "r***@example.com"},
		{"a.b+tag@sub.example.org", "a***@sub.example.org"},
		{"odd\"@\"local@example.com", "o***@example.com"},
		{"", "***"},
		{"no-at-sign", "***"},
		{"@example.com", "***"},
	} {
		if got := domain.MaskEmail(tc.in); got != tc.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := domain.MaskEmail(tc.in); strings.Contains(got, "rita") {
			t.Errorf("MaskEmail(%q) = %q leaks the local part", tc.in, got)
		}
	}
}

// ValidEmail accepts internationalized addresses, so MaskEmail meets them.
func TestMaskEmailNonASCII(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"ünal@example.com", "ü***@example.com"},
		{"王@example.com", "王***@example.com"},
	} {
		if !domain.ValidEmail(tc.in) {
			t.Fatalf("precondition: ValidEmail(%q) = false", tc.in)
		}
		if got := domain.MaskEmail(tc.in); got != tc.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Test and live credentials form separate chains: a current credential of
// the other mode neither blocks, renews nor revokes.
func TestPlanIssueOtherModeIsNoChain(t *testing.T) {
	t.Parallel()
	for _, current := range []domain.Credential{
		cred(func(c *domain.Credential) { c.ID = "CRD-LIVE0001" }),                       // active non-expiring
		cred(func(c *domain.Credential) { c.ID, c.ExpiresAt = "CRD-LIVE0002", &future }), // active time-bound
	} {
		for _, nextTest := range []bool{true, false} {
			cur := current
			cur.Test = !nextTest
			before := cur
			next := cred(func(c *domain.Credential) { c.ID, c.Test = "CRD-NEW00001", nextTest })
			plan, err := domain.PlanIssue(&next, &cur, t0)
			if err != nil || plan.State != domain.StateNew || plan.Previous != nil || next.SupersedesID != "" {
				t.Errorf("next test=%v beside %s test=%v: state %s previous %v supersedes %q err %v, want new and nothing touched",
					nextTest, cur.ID, cur.Test, plan.State, plan.Previous, next.SupersedesID, err)
			}
			if cur != before {
				t.Errorf("PlanIssue changed the credential of the other mode: %+v", cur)
			}
		}
	}
}
