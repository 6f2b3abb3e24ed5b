package e2e

import (
	"regexp"
	"testing"
)

var credentialIDRE = regexp.MustCompile(`^CRD-[A-Z0-9]{8}$`)

// scenario is one end-to-end story. Scenarios share their store's server
// unless they need their own configuration (opts); each uses its own
// users and organizations, so they run in parallel.
type scenario struct {
	name string
	opts []serverOption
	run  func(t *testing.T, e *env)
}

var scenarios = []scenario{
	{name: "newcomer_path", run: testNewcomerPath},
	{name: "duplicate_non_expiring", run: testDuplicate},
	{name: "revoke_then_reissue", run: testRevokeThenReissue},
	{name: "renewal_of_time_bound", run: testRenewal},
	{name: "monthly_quota", opts: []serverOption{withPlans(`{"free":{"monthlyRecipients":3}}`)}, run: testQuota},
	{name: "private_credential", run: testPrivateCredential},
	{name: "claim_rules", run: testClaimRules},
	{name: "key_rotation", run: testKeyRotation},
	{name: "tampering_is_caught", run: testTampering},
	{name: "api_keys", run: testAPIKeys},
	{name: "api_keys_complete", run: testAPIKeysComplete},
	{name: "bad_input_never_500s", run: testBadInput},
	{name: "control_characters_refused", run: testControlCharacters},
	{name: "suspended_org", run: testSuspendedOrg},
	{name: "external_verifier_jose", run: testJoseVerifier},
	{name: "concurrent_issuers", run: testConcurrentIssuers},
	{name: "mailed_links_open", run: testMailedLinks},
	{name: "mail_html", run: testMailHTML},
	{name: "bulk_issuance", opts: []serverOption{withPlans(`{"free":{"monthlyRecipients":6},"professional":{"monthlyRecipients":6}}`)}, run: testBulkIssuance},
	{name: "bulk_bad_files", run: testBulkBadFiles},
	{name: "sign_in_hardening", run: testSignIn},
	{name: "mfa_email_code", run: testMFA},
	{name: "teams", run: testTeams},
	{name: "role_matrix", run: testRoleMatrix},
	{name: "activity_log", run: testActivity},
	{name: "recipient_email_switch", run: testEmailSwitch},
	{name: "rate_limits", opts: rateLimited, run: testRateLimits},
	{name: "bulk_resend", opts: []serverOption{withPlans(`{"professional":{"monthlyRecipients":-1}}`), withEnv("CREDENCE_WORKER_CONCURRENCY", "1")}, run: testResend},
	{name: "idempotency_keys", run: testIdempotency},
	{name: "idempotency_keeps_no_secrets", run: testIdempotentSecrets},
	{name: "security_headers", run: testSecurityHeaders},
	// Its own server, so that its peak memory is the bomb's alone.
	{name: "upload_bomb", opts: []serverOption{withEnv("CREDENCE_LOG_LEVEL", "warn")}, run: testUploadBomb},
	{name: "sign_in_spray", opts: signInBudget, run: testSignInSpray},
	{name: "known_device_outlives_lock_out", run: testKnownDevice},
	{name: "mfa_off_takes_proof", run: testMFAOffTakesProof},
	{name: "require_mfa_sessions", run: testRequireMFASessions},
	{name: "reset_links_end", run: testResetLinksEnd},
	{name: "enumeration_timing", run: testEnumerationTiming},
	{name: "change_password", run: testChangePassword},
	{name: "retrieve_credentials", run: testRetrieve},
}

// TestE2E runs every scenario against the real server on each store.
func TestE2E(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			shared := newEnv(t, store)
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					e := shared
					if len(sc.opts) > 0 {
						e = newEnv(t, store, sc.opts...)
					}
					sc.run(t, e)
				})
			}
		})
	}
}
