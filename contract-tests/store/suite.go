// Package store is the contract suite of ports.Store: every adapter runs the
// same Run, so SQLite and PostgreSQL answer alike. Each case documents the
// port sentence it checks.
package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// Factory returns a fresh, isolated, migrated store; it closes the store
// (and drops its database) when t ends.
type Factory func(t *testing.T) ports.Store

// Run runs every case of the contract against stores from newStore. Each
// case gets its own store and runs in parallel with the others.
func Run(t *testing.T, newStore Factory) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, ports.Store)
	}{
		{"get_unknown_is_not_found", testGetUnknown},
		{"write_unknown_is_not_found", testWriteUnknown},
		{"ping", testPing},

		{"user_round_trip_and_mark_verified", testUserRoundTrip},
		{"user_email_taken", testUserEmailTaken},
		{"session_by_hash_and_revoke", testSessions},
		{"email_token_use_is_single_use", testEmailTokenUse},
		{"email_token_concurrent_use_admits_one", testEmailTokenConcurrentUse},
		{"email_token_revoke_all_for_user", testEmailTokenRevokeAllForUser},
		{"user_email_taken_in_tx_writes_nothing", testUserEmailTakenInTx},
		{"user_set_password", testUserSetPassword},
		{"sessions_list_touch_revoke_all", testSessionsListTouchRevokeAll},
		{"login_guard_get_update_clean", testLoginGuards},
		{"login_guard_concurrent_updates_serialize", testLoginGuardsConcurrent},
		{"api_key_own_rate_limit", testAPIKeyRateLimit},
		{"mfa_challenges_fail_and_single_use", testMFAChallenges},
		{"devices_get_rotate_fail", testDevices},
		{"devices_concurrent_fails_and_rotations", testDevicesConcurrent},
		{"activity_log_filters_and_pages", testActivityLog},
		{"retention_prune_activity_old_first_limit_every_org", testPruneActivity},
		{"retention_prune_ended_sessions", testPruneEndedSessions},
		{"retention_prune_ended_email_tokens", testPruneEndedEmailTokens},
		{"retention_prune_ended_mfa_challenges", testPruneEndedMFAChallenges},
		{"retention_prune_ended_login_guards", testPruneEndedLoginGuards},
		{"retention_prune_ended_devices", testPruneEndedDevices},
		{"retention_prune_ended_keeps_a_guard_revived_meanwhile", testPruneEndedGuardRevived},
		{"retention_prune_ended_limit_per_kind", testPruneEndedLimit},
		{"retention_concurrent_prunes_delete_each_row_once", testPruneConcurrent},
		{"retention_prune_in_rolled_back_tx_deletes_nothing", testPruneRollback},

		{"org_round_trip_and_update", testOrgRoundTrip},
		{"org_slug_taken", testOrgSlugTaken},
		{"org_list_status_and_cursor", testOrgList},
		{"org_list_for_user", testOrgListForUser},
		{"org_get_with_role", testOrgGetWithRole},
		{"org_count_verification", testOrgCountVerification},
		{"members_add_get_list_count", testMembers},
		{"members_set_role_remove_lock", testMembersChange},
		{"invitations_open_answer_revoke", testInvitations},

		{"signing_keys_one_active_per_org", testSigningKeys},
		{"proof_keys_one_active_per_org", testProofKeys},
		{"api_keys_round_trip_count_revoke_touch", testAPIKeys},
		{"api_key_new_fields_round_trip", testAPIKeyNewFieldsRoundTrip},
		{"api_key_regenerate_swaps_the_secret", testAPIKeyRegenerate},
		{"api_key_regenerate_concurrent_admits_one", testAPIKeyRegenerateConcurrent},
		{"api_key_revoke_many_for_a_reason", testAPIKeyRevokeMany},
		{"api_key_touch_only_moves_forward", testAPIKeyTouch},

		{"badge_round_trip_and_slug_per_org", testBadgeRoundTrip},
		{"badge_update_and_delete_unlocked", testBadgeUpdateUnlocked},
		{"badge_lock_blocks_signed_fields_and_delete", testBadgeLocked},
		{"badge_lock_refuses_a_stale_version", testBadgeLockStale},
		{"badge_list_cursor_and_count", testBadgeList},
		{"images_put_get_once_per_hash", testImages},
		{"images_concurrent_puts_keep_one", testImagesConcurrent},
		{"images_put_in_rolled_back_tx_stores_nothing", testImagesRollback},

		{"credential_round_trip_and_update", testCredentialRoundTrip},
		{"credential_second_current_is_duplicate", testCredentialDuplicate},
		{"credential_duplicate_inside_tx_keeps_tx_usable", testCredentialDuplicateInTx},
		{"credential_test_and_live_chains_apart", testCredentialTestChainApart},
		{"credential_concurrent_issues_admit_exactly_one", testCredentialConcurrentIssues},
		{"credential_id_taken", testCredentialIDTaken},
		{"credential_lock_recipient_serializes_issuers", testCredentialLockRecipient},
		{"credential_issue_context_in_one_read", testCredentialIssueContext},
		{"credential_verifiable_in_one_read", testCredentialVerifiable},
		{"credential_insert_first_is_atomic", testCredentialInsertFirst},
		{"credential_insert_first_concurrent_quota", testCredentialInsertFirstQuotaRace},
		{"credential_insert_first_checks_context", testCredentialInsertFirstChecksContext},
		{"credential_revoke_and_supersede_free_the_slot", testCredentialChain},
		{"credential_list_filters", testCredentialListFilters},
		{"credential_list_cursor", testCredentialListCursor},
		{"credential_list_by_email", testCredentialListByEmail},
		{"status_list_round_trip_and_seq_taken", testStatusListRoundTrip},
		{"status_list_allocate_concurrent_places_once", testStatusListAllocate},
		{"status_list_changed_due_publish_entries", testStatusListPublishing},
		{"status_list_due_concurrent_sweeps_disjoint", testStatusListDueConcurrent},
		{"vc_records_digest_credential_id_entries", testVCRecords},
		{"webhook_endpoints_round_trip_subscribed_delete", testWebhookEndpoints},
		{"webhook_deliveries_due_claim_attempt_log_resend", testWebhookDeliveries},
		{"webhook_log_pruned_past_retention", testWebhookLogPruned},
		{"webhook_attempts_settled_together", testWebhookSettle},
		{"webhook_settles_and_switch_offs_side_by_side", testWebhookSwitchOffRace},

		{"quota_consume_counts_distinct_recipients", testQuota},
		{"quota_never_exceeds_limit_under_concurrency", testQuotaConcurrent},
		{"quota_consume_many_first_come_first_served", testQuotaConsumeMany},
		{"quota_consume_many_beside_concurrent_consumes", testQuotaConsumeManyConcurrent},

		{"credential_insert_many_stores_heads", testCredentialInsertMany},
		{"credential_insert_many_conflict_writes_nothing", testCredentialInsertManyConflict},
		{"credential_heads_and_lock", testCredentialHeads},
		{"credential_insert_first_with_mail_and_activity", testCredentialInsertFirstMailActivity},

		{"bulk_create_get_rows", testBulkCreate},
		{"bulk_list_newest_first_cursor", testBulkList},
		{"bulk_acquire_lease", testBulkAcquire},
		{"bulk_acquire_concurrent_admits_one", testBulkAcquireConcurrent},
		{"bulk_record_outcomes_counts_lease", testBulkRecord},
		{"bulk_record_refused_writes_nothing", testBulkRecordRefused},
		{"bulk_finish_fails_pending_rows", testBulkFinish},
		{"bulk_release_hands_job_on", testBulkRelease},
		{"bulk_stale_releases_and_marks", testBulkStale},
		{"bulk_stale_concurrent_sweeps_disjoint", testBulkStaleConcurrent},

		{"mail_create_queues_once_per_kind", testMailCreate},
		{"mail_due_moves_next_attempt", testMailDue},
		{"mail_due_lost_sending_is_claimable", testMailDueLostSendingIsClaimable},
		{"mail_claim_sent_retry_fail", testMailLifecycle},
		{"mail_concurrent_claims_and_sweeps", testMailConcurrent},
		{"mail_latest", testMailLatest},
		{"mail_compose_and_drop_deferred", testMailComposeAndDrop},
		{"mail_concurrent_settlements_admit_one", testMailComposeConcurrent},
		{"mail_compose_in_rolled_back_tx", testMailComposeRollback},

		{"event_record_and_list", testEvents},

		{"conflicts_inside_tx_keep_tx_usable", testConflictsKeepTxUsable},
		{"error_in_tx_rolls_back", testRollback},
		{"nested_tx_joins_outer", testNestedTx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// t0 is the suite's "now": sub-second, so a round trip that loses
// microseconds shows.
var t0 = domain.Truncate(time.Date(2026, 11, 22, 10, 30, 15, 123456789, time.UTC))

var errBoom = errors.New("boom")

// ---- assertions ----

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want one matching %v", err, target)
	}
}

func equal[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mismatch\n got: %+v\nwant: %+v", show(got), show(want))
	}
}

// show dereferences time pointers so failure messages are readable.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return fmt.Sprintf("%+v", v)
	}
	s := "{"
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Field(i)
		if p, ok := f.Interface().(*time.Time); ok && p != nil {
			s += fmt.Sprintf("%s:&%s ", rv.Type().Field(i).Name, p.Format(time.RFC3339Nano))
			continue
		}
		s += fmt.Sprintf("%s:%+v ", rv.Type().Field(i).Name, f.Interface())
	}
	return s + "}"
}

func ptr[T any](v T) *T { return &v }

// argsUnchanged fails when a store call changed the values the caller
// passed: a store must not write through the pointers of its arguments
// (not even a time's location).
func argsUnchanged[T any](t *testing.T, call string, got, before []T) {
	t.Helper()
	for i := range got {
		if !reflect.DeepEqual(got[i], before[i]) {
			t.Fatalf("%s changed its argument %d:\n got %#v\nwas %#v", call, i, got[i], before[i])
		}
	}
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func equalIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = sortedIDs(got...), sortedIDs(want...)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// ---- fixtures ----

func uniq() string { return domain.NewID()[:8] }

func newUser(t *testing.T, s ports.Store) domain.User {
	t.Helper()
	u := domain.User{ID: domain.NewID(), Email: "u-" + uniq() + "@example.com", Name: "User " + uniq(),
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: t0}
	must(t, s.Users().Create(t.Context(), u))
	return u
}

func makeOrg() domain.Organization {
	return domain.Organization{ID: domain.NewID(), Name: "Org " + uniq(), Slug: "org-" + uniq(),
		WebsiteURL: "https://example.com", Description: "An issuer", LogoURL: "https://example.com/images/logo.png", Status: domain.OrgApproved,
		Plan: domain.PlanProfessional, EmailsEnabled: true, DataIntegrity: true, CreatedAt: t0, UpdatedAt: t0}
}

func newOrg(t *testing.T, s ports.Store) domain.Organization {
	t.Helper()
	o := makeOrg()
	must(t, s.Orgs().Create(t.Context(), o))
	return o
}

func makeBadge(orgID string) domain.Badge {
	return domain.Badge{ID: domain.NewID(), OrgID: orgID, Name: "Badge " + uniq(), Slug: "badge-" + uniq(),
		Description: "Awarded for things", Criteria: "Do the things", ImageURL: "https://example.com/b.png",
		Tags: []string{"go", "sql"}, Active: true, CreatedAt: t0, UpdatedAt: t0}
}

func newBadge(t *testing.T, s ports.Store, orgID string) domain.Badge {
	t.Helper()
	b := makeBadge(orgID)
	must(t, s.Badges().Create(t.Context(), b))
	return b
}

// makeCredential returns a pending, non-expiring credential (not inserted).
func makeCredential(orgID, badgeID, email string, issuedAt time.Time) domain.Credential {
	return domain.Credential{ID: domain.NewCredentialID(), OrgID: orgID, BadgeID: badgeID,
		RecipientName: "Recipient " + uniq(), RecipientEmail: email, IssuedAt: issuedAt, Public: true,
		KeyID: "did:web:example.com:issuers:x#key-1", JWS: "eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2ln", CreatedBy: domain.NewID()}
}

func newEmail() string { return "r-" + uniq() + "@example.com" }

// issuer is an org with a badge, the usual setting of credential cases.
type issuer struct {
	org   domain.Organization
	badge domain.Badge
}

func newIssuer(t *testing.T, s ports.Store) issuer {
	t.Helper()
	o := newOrg(t, s)
	return issuer{org: o, badge: newBadge(t, s, o.ID)}
}

func (i issuer) credential(email string, issuedAt time.Time) domain.Credential {
	return makeCredential(i.org.ID, i.badge.ID, email, issuedAt)
}

func credentialIDs(cs []domain.Credential) []domain.CredentialID {
	ids := make([]domain.CredentialID, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// race runs fn(i) for i in [0,n) in goroutines released together, and
// returns their errors by index.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// warmPool opens n connections of the store's pool at once, so that n
// racers started next overlap instead of waiting in turn for a new
// connection (with a cold pool a race can pass by running serially).
func warmPool(t *testing.T, s ports.Store, n int) {
	t.Helper()
	for _, err := range race(n, func(int) error {
		return s.WithinTx(t.Context(), func(context.Context) error {
			time.Sleep(20 * time.Millisecond) // holding a connection
			return nil
		})
	}) {
		must(t, err)
	}
}

// ---- cases that span repositories ----

// Store: "a Get of an unknown ID returns an error matching domain.ErrNotFound".
func testGetUnknown(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	id := domain.NewID()
	errOf := func(_ any, err error) error { return err }
	for name, err := range map[string]error{
		"Users.Get":                 errOf(s.Users().Get(ctx, id)),
		"Users.GetByEmail":          errOf(s.Users().GetByEmail(ctx, newEmail())),
		"Sessions.GetByHash":        errOf(s.Sessions().GetByHash(ctx, []byte("no such hash"))),
		"Orgs.Get":                  errOf(s.Orgs().Get(ctx, id)),
		"Orgs.GetBySlug":            errOf(s.Orgs().GetBySlug(ctx, "no-such-org")),
		"Orgs.Verifications":        errOf(s.Orgs().Verifications(ctx, id)),
		"Images.Get":                errOf(s.Images().Get(ctx, strings.Repeat("0", 64))),
		"Members.Get":               errOf(s.Members().Get(ctx, o.ID, id)),
		"SigningKeys.GetByFragment": errOf(s.SigningKeys().GetByFragment(ctx, o.ID, "key-1")),
		"APIKeys.Get":               errOf(s.APIKeys().Get(ctx, o.ID, id)),
		"APIKeys.GetByHash":         errOf(s.APIKeys().GetByHash(ctx, []byte("no such hash"))),
		"Badges.Get":                errOf(s.Badges().Get(ctx, o.ID, id)),
		"Badges.GetBySlug":          errOf(s.Badges().GetBySlug(ctx, o.ID, "no-such-badge")),
		"Credentials.Get":           errOf(s.Credentials().Get(ctx, domain.NewCredentialID())),
		"Credentials.GetForUpdate":  errOf(s.Credentials().GetForUpdate(ctx, domain.NewCredentialID())),
		"Credentials.Current":       errOf(s.Credentials().Current(ctx, id, newEmail(), false)),
		"Credentials.Verifiable":    errOf(s.Credentials().Verifiable(ctx, domain.NewCredentialID())),
		"Devices.Get":               errOf(s.Devices().Get(ctx, id)),
		"Devices.GetByHash":         errOf(s.Devices().GetByHash(ctx, []byte("no such hash"))),
	} {
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: got %v, want an error matching domain.ErrNotFound", name, err)
		}
	}
	// SigningKeys.Active: "or domain.ErrSigningKeysMissing".
	_, err := s.SigningKeys().Active(ctx, o.ID)
	wantErr(t, err, domain.ErrSigningKeysMissing)
}

// Writes addressed to an unknown ID report ErrNotFound rather than
// succeeding silently (not spelled out by the port; every caller relies on it).
func testWriteUnknown(t *testing.T, s ports.Store) {
	ctx := t.Context()
	o := newOrg(t, s)
	id := domain.NewID()
	ghostOrg := makeOrg()
	ghostBadge := makeBadge(o.ID)
	ghostCred := makeCredential(o.ID, id, newEmail(), t0)
	for name, err := range map[string]error{
		"Users.MarkVerified":    s.Users().MarkVerified(ctx, id, t0),
		"Sessions.Revoke":       s.Sessions().Revoke(ctx, id, t0),
		"Orgs.Update":           s.Orgs().Update(ctx, ghostOrg),
		"Orgs.AddVerifications": s.Orgs().AddVerifications(ctx, id, 1),
		"SigningKeys.Retire":    s.SigningKeys().Retire(ctx, id, t0),
		"APIKeys.Revoke":        s.APIKeys().Revoke(ctx, o.ID, id, t0),
		"APIKeys.Touch":         s.APIKeys().Touch(ctx, id, t0),
		"Badges.Update":         s.Badges().Update(ctx, ghostBadge),
		"Badges.Lock":           s.Badges().Lock(ctx, id, time.Now()),
		"Badges.Delete":         s.Badges().Delete(ctx, o.ID, id),
		"Credentials.Update":    s.Credentials().Update(ctx, ghostCred),
		"Devices.Rotate":        s.Devices().Rotate(ctx, id, []byte("a"), []byte("b"), t0),
	} {
		if !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s: got %v, want an error matching domain.ErrNotFound", name, err)
		}
	}
}

// Store.Ping: "reports whether the database answers".
func testPing(t *testing.T, s ports.Store) {
	must(t, s.Ping(t.Context()))
}
