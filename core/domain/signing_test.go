package domain_test

import (
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

func TestValidAlgorithm(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		alg  domain.Algorithm
		want bool
	}{
		{domain.AlgES256, true},
		{domain.AlgEdDSA, true},
		{domain.AlgRS256, true},
		{"", false},
		{"es256", false},
		{"HS256", false},
		{"none", false},
		{"ES384", false},
	} {
		if got := domain.ValidAlgorithm(tc.alg); got != tc.want {
			t.Errorf("ValidAlgorithm(%q) = %v, want %v", tc.alg, got, tc.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	all := func(failed ...domain.CheckName) []domain.Check {
		var out []domain.Check
		for _, n := range []domain.CheckName{domain.CheckSignature, domain.CheckIntegrity, domain.CheckExpiry, domain.CheckRevocation, domain.CheckIssuer} {
			ok := true
			for _, f := range failed {
				if f == n {
					ok = false
				}
			}
			out = append(out, domain.Check{Name: n, OK: ok, Detail: "d"})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		checks  []domain.Check
		claimed bool
		want    domain.VerifyResult
	}{
		{"all_ok_claimed", all(), true, domain.ResultValid},
		{"all_ok_unclaimed", all(), false, domain.ResultPending},
		{"no_checks_claimed", nil, true, domain.ResultValid},
		{"no_checks_unclaimed", nil, false, domain.ResultPending},
		{"signature_failed", all(domain.CheckSignature), true, domain.ResultInvalid},
		{"integrity_failed", all(domain.CheckIntegrity), true, domain.ResultInvalid},
		{"issuer_failed", all(domain.CheckIssuer), false, domain.ResultInvalid},
		{"revoked", all(domain.CheckRevocation), true, domain.ResultRevoked},
		{"revoked_unclaimed", all(domain.CheckRevocation), false, domain.ResultRevoked},
		{"expired", all(domain.CheckExpiry), true, domain.ResultExpired},
		{"expired_unclaimed", all(domain.CheckExpiry), false, domain.ResultExpired},
		{"revoked_beats_expired", all(domain.CheckExpiry, domain.CheckRevocation), true, domain.ResultRevoked},
		{"signature_beats_revoked", all(domain.CheckSignature, domain.CheckRevocation), true, domain.ResultInvalid},
		{"integrity_beats_expired", all(domain.CheckIntegrity, domain.CheckExpiry), true, domain.ResultInvalid},
		{"issuer_beats_everything", all(domain.CheckIssuer, domain.CheckExpiry, domain.CheckRevocation), true, domain.ResultInvalid},
		{"all_failed", all(domain.CheckSignature, domain.CheckIntegrity, domain.CheckExpiry, domain.CheckRevocation, domain.CheckIssuer), false, domain.ResultInvalid},
		{"unknown_check_failing_is_ignored", append(all(), domain.Check{Name: "other", OK: false}), true, domain.ResultValid},
		{"one_of_duplicate_checks_failed", append(all(), domain.Check{Name: domain.CheckSignature, OK: false}), true, domain.ResultInvalid},
		{"order_does_not_matter", []domain.Check{{Name: domain.CheckExpiry, OK: false}, {Name: domain.CheckSignature, OK: true}}, true, domain.ResultExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.Verdict(tc.checks, tc.claimed); got != tc.want {
				t.Errorf("Verdict = %s, want %s", got, tc.want)
			}
		})
	}
}
