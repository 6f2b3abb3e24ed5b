package domain_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// TestCodesMatchTheContract pins every code to its spelling in API.md (or,
// for the codes Credence adds, to its documented name): they are public.
func TestCodesMatchTheContract(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code domain.Code
		want string
	}{
		{domain.CodeValidation, "VALIDATION_FAILED"},
		{domain.CodeUnauthenticated, "UNAUTHENTICATED"},
		{domain.CodeEmailNotVerified, "EMAIL_NOT_VERIFIED"},
		{domain.CodeForbidden, "FORBIDDEN"},
		{domain.CodePlanRequired, "PLAN_REQUIRED"},
		{domain.CodePlanLimitReached, "PLAN_LIMIT_REACHED"},
		{domain.CodeOrgNotApproved, "ORG_NOT_APPROVED"},
		{domain.CodeSigningKeysMissing, "SIGNING_KEYS_MISSING"},
		{domain.CodeSigningKeysExist, "SIGNING_KEYS_EXIST"},
		{domain.CodeDuplicateCredential, "DUPLICATE_CREDENTIAL"},
		{domain.CodeBadgeInactive, "BADGE_INACTIVE"},
		{domain.CodeBadgeLocked, "BADGE_LOCKED"},
		{domain.CodeQuotaExceeded, "QUOTA_EXCEEDED"},
		{domain.CodeNotFound, "NOT_FOUND"},
		{domain.CodeCredentialPrivate, "CREDENTIAL_PRIVATE"},
		{domain.CodeEmailMismatch, "EMAIL_MISMATCH"},
		{domain.CodeAlreadyClaimed, "ALREADY_CLAIMED"},
		{domain.CodeRateLimited, "RATE_LIMITED"},
		{domain.CodeSlugTaken, "SLUG_TAKEN"},
		{domain.CodeInvalidState, "INVALID_STATE"},
		{domain.CodeNotClaimable, "NOT_CLAIMABLE"},
		{domain.CodeInvalidToken, "INVALID_TOKEN"},
		{domain.CodeInvalidPassword, "INVALID_PASSWORD"},
	} {
		if string(tc.code) != tc.want {
			t.Errorf("code %q, want %q", tc.code, tc.want)
		}
	}
}

var sentinels = []struct {
	err  *domain.Error
	code domain.Code
}{
	{domain.ErrNotFound, domain.CodeNotFound},
	{domain.ErrUnauthenticated, domain.CodeUnauthenticated},
	{domain.ErrEmailNotVerified, domain.CodeEmailNotVerified},
	{domain.ErrForbidden, domain.CodeForbidden},
	{domain.ErrPlanRequired, domain.CodePlanRequired},
	{domain.ErrPlanLimitReached, domain.CodePlanLimitReached},
	{domain.ErrOrgNotApproved, domain.CodeOrgNotApproved},
	{domain.ErrSigningKeysMissing, domain.CodeSigningKeysMissing},
	{domain.ErrSigningKeysExist, domain.CodeSigningKeysExist},
	{domain.ErrBadgeInactive, domain.CodeBadgeInactive},
	{domain.ErrBadgeLocked, domain.CodeBadgeLocked},
	{domain.ErrCredentialPrivate, domain.CodeCredentialPrivate},
	{domain.ErrEmailMismatch, domain.CodeEmailMismatch},
	{domain.ErrAlreadyClaimed, domain.CodeAlreadyClaimed},
	{domain.ErrNotClaimable, domain.CodeNotClaimable},
	{domain.ErrSlugTaken, domain.CodeSlugTaken},
	{domain.ErrInvalidState, domain.CodeInvalidState},
	{domain.ErrInvalidToken, domain.CodeInvalidToken},
	{domain.ErrDuplicate, domain.CodeDuplicateCredential},
	{domain.ErrQuotaExceeded, domain.CodeQuotaExceeded},
	{domain.ErrValidation, domain.CodeValidation},
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	for i, s := range sentinels {
		t.Run(string(s.code), func(t *testing.T) {
			t.Parallel()
			if s.err.Code != s.code || s.err.ErrorCode() != s.code || domain.CodeOf(s.err) != s.code {
				t.Errorf("sentinel code = %q, want %q", s.err.Code, s.code)
			}
			msg := s.err.Error()
			if msg == "" || strings.HasSuffix(msg, ".") || msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("message %q: want non-empty, lower-case start, no trailing period", msg)
			}
			for j, other := range sentinels {
				if got := errors.Is(s.err, other.err); got != (i == j) {
					t.Errorf("errors.Is(%s, %s) = %v", s.code, other.code, got)
				}
			}
		})
	}
}

func TestErrorIsMatchesByCode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same_code_other_message", domain.Errorf(domain.CodeNotFound, "no badge %s", "b1"), domain.ErrNotFound, true},
		{"wrapped_once", fmt.Errorf("get badge: %w", domain.Errorf(domain.CodeNotFound, "x")), domain.ErrNotFound, true},
		{"wrapped_twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain.ErrInvalidState)), domain.ErrInvalidState, true},
		{"joined", errors.Join(io.EOF, domain.Errorf(domain.CodeForbidden, "no")), domain.ErrForbidden, true},
		{"other_code", domain.Errorf(domain.CodeNotFound, "x"), domain.ErrForbidden, false},
		{"against_fresh_error", domain.ErrBadgeLocked, &domain.Error{Code: domain.CodeBadgeLocked}, true},
		{"plain_target", domain.ErrNotFound, io.EOF, false},
		{"plain_error", errors.New("not found"), domain.ErrNotFound, false},
		{"nil_target", domain.ErrNotFound, nil, false},
		{"duplicate_matches_sentinel", &domain.DuplicateError{Existing: "CRD-AAAAAAAA"}, domain.ErrDuplicate, true},
		{"wrapped_duplicate", fmt.Errorf("issue: %w", &domain.DuplicateError{Existing: "CRD-AAAAAAAA"}), domain.ErrDuplicate, true},
		{"duplicate_is_not_not_found", &domain.DuplicateError{}, domain.ErrNotFound, false},
		{"quota_matches_sentinel", &domain.QuotaError{Used: 1, Limit: 1}, domain.ErrQuotaExceeded, true},
		{"wrapped_quota", fmt.Errorf("issue: %w", &domain.QuotaError{}), domain.ErrQuotaExceeded, true},
		{"quota_is_not_plan_limit", &domain.QuotaError{}, domain.ErrPlanLimitReached, false},
		{"validation_matches_sentinel", &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.x"}}}, domain.ErrValidation, true},
		{"wrapped_validation", fmt.Errorf("create: %w", &domain.ValidationError{}), domain.ErrValidation, true},
		{"validation_is_not_duplicate", &domain.ValidationError{}, domain.ErrDuplicate, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(tc.err, tc.target); got != tc.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tc.err, tc.target, got, tc.want)
			}
		})
	}
}

func TestErrorf(t *testing.T) {
	t.Parallel()
	err := domain.Errorf(domain.CodeInvalidState, "credential %s is %s", "CRD-AAAAAAAA", "revoked")
	if err.Code != domain.CodeInvalidState || err.Detail != "credential CRD-AAAAAAAA is revoked" || err.Error() != err.Detail {
		t.Errorf("Errorf = %+v (%q)", err, err.Error())
	}
	if err == domain.Errorf(domain.CodeInvalidState, "credential %s is %s", "CRD-AAAAAAAA", "revoked") {
		t.Error("Errorf returns a shared value")
	}
}

func TestCodeOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want domain.Code
	}{
		{"nil", nil, ""},
		{"plain", errors.New("boom"), ""},
		{"wrapped_plain", fmt.Errorf("x: %w", io.EOF), ""},
		{"error", domain.Errorf(domain.CodeForbidden, "no"), domain.CodeForbidden},
		{"sentinel", domain.ErrSigningKeysMissing, domain.CodeSigningKeysMissing},
		{"wrapped_error", fmt.Errorf("x: %w", domain.ErrAlreadyClaimed), domain.CodeAlreadyClaimed},
		{"duplicate", &domain.DuplicateError{Existing: "CRD-AAAAAAAA"}, domain.CodeDuplicateCredential},
		{"wrapped_duplicate", fmt.Errorf("x: %w", &domain.DuplicateError{}), domain.CodeDuplicateCredential},
		{"quota", &domain.QuotaError{Used: 5, Limit: 5}, domain.CodeQuotaExceeded},
		{"wrapped_quota", fmt.Errorf("x: %w", &domain.QuotaError{}), domain.CodeQuotaExceeded},
		{"validation", &domain.ValidationError{}, domain.CodeValidation},
		{"wrapped_validation", fmt.Errorf("x: %w", &domain.ValidationError{}), domain.CodeValidation},
		{"validator", func() error {
			var v domain.Validator
			v.Add("body.x", "bad", 1)
			return v.Err()
		}(), domain.CodeValidation},
		{"outermost_code_wins", fmt.Errorf("x: %w", errors.Join(domain.ErrForbidden, domain.ErrNotFound)), domain.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.CodeOf(tc.err); got != tc.want {
				t.Errorf("CodeOf(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestDuplicateError(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("issue: %w", &domain.DuplicateError{Existing: "CRD-EXIST001"})
	var dup *domain.DuplicateError
	if !errors.As(err, &dup) || dup.Existing != "CRD-EXIST001" {
		t.Fatalf("errors.As: %v %+v", err, dup)
	}
	if !strings.Contains(err.Error(), "CRD-EXIST001") {
		t.Errorf("message %q does not name the existing credential", err)
	}
	if dup.ErrorCode() != domain.CodeDuplicateCredential {
		t.Errorf("ErrorCode = %q", dup.ErrorCode())
	}
}

func TestQuotaError(t *testing.T) {
	t.Parallel()
	resets := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	err := fmt.Errorf("issue: %w", &domain.QuotaError{Used: 1000, Limit: 1000, ResetsAt: resets})
	var q *domain.QuotaError
	if !errors.As(err, &q) || q.Used != 1000 || q.Limit != 1000 || !q.ResetsAt.Equal(resets) {
		t.Fatalf("errors.As: %+v", q)
	}
	for _, part := range []string{"1000 of 1000", "2026-04-01T00:00:00Z"} {
		if !strings.Contains(q.Error(), part) {
			t.Errorf("message %q lacks %q", q.Error(), part)
		}
	}
	if q.ErrorCode() != domain.CodeQuotaExceeded {
		t.Errorf("ErrorCode = %q", q.ErrorCode())
	}
}

func TestValidationError(t *testing.T) {
	t.Parallel()
	one := &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.email", Message: "email must be a valid address", Value: "x"}}}
	if got := one.Error(); got != "body.email: email must be a valid address" {
		t.Errorf("one field: %q", got)
	}
	two := &domain.ValidationError{Fields: []domain.FieldError{{Location: "body.a", Message: "m"}, {Location: "body.b", Message: "m"}}}
	if got := two.Error(); got != "2 fields are invalid" {
		t.Errorf("two fields: %q", got)
	}
	if one.ErrorCode() != domain.CodeValidation {
		t.Errorf("ErrorCode = %q", one.ErrorCode())
	}
}

func TestValidator(t *testing.T) {
	t.Parallel()
	var v domain.Validator
	if err := v.Err(); err != nil {
		t.Fatalf("empty validator: Err() = %v, want nil (an untyped nil, not a nil *ValidationError)", err)
	}
	v.Check(true, "body.ok", "never recorded", 1)
	if v.Err() != nil {
		t.Fatal("a passing Check recorded a field")
	}
	v.Check(false, "body.a", "a is bad", 42)
	v.Add("body.b", "b is bad", nil)
	var ve *domain.ValidationError
	if !errors.As(v.Err(), &ve) {
		t.Fatalf("Err() = %T", v.Err())
	}
	want := []domain.FieldError{{"body.a", "a is bad", 42}, {"body.b", "b is bad", nil}}
	if len(ve.Fields) != len(want) {
		t.Fatalf("fields = %+v, want %+v", ve.Fields, want)
	}
	for i := range want {
		if ve.Fields[i] != want[i] {
			t.Errorf("field %d = %+v, want %+v", i, ve.Fields[i], want[i])
		}
	}
}

func TestJoinValidation(t *testing.T) {
	t.Parallel()
	ve := func(locs ...string) error {
		var v domain.Validator
		for _, l := range locs {
			v.Add(l, l+" is bad", nil)
		}
		return v.Err()
	}
	for _, tc := range []struct {
		name  string
		errs  []error
		want  []string // field locations in order; nil with other == nil: no error
		other error    // a non-validation error that must come back as it is
		isNil bool
	}{
		{"none", nil, nil, nil, true},
		{"all_nil", []error{nil, nil}, nil, nil, true},
		{"one", []error{ve("body.a")}, []string{"body.a"}, nil, false},
		{"merged_in_order", []error{ve("body.a"), nil, ve("body.b", "body.c")}, []string{"body.a", "body.b", "body.c"}, nil, false},
		{"wrapped_validation", []error{fmt.Errorf("x: %w", ve("body.a")), ve("body.b")}, []string{"body.a", "body.b"}, nil, false},
		{"other_error_wins", []error{ve("body.a"), domain.ErrNotFound, ve("body.b")}, nil, domain.ErrNotFound, false},
		{"other_error_first", []error{io.EOF, ve("body.a")}, nil, io.EOF, false},
		{"first_other_error_wins", []error{domain.ErrForbidden, domain.ErrNotFound}, nil, domain.ErrForbidden, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := domain.JoinValidation(tc.errs...)
			switch {
			case tc.isNil:
				if err != nil {
					t.Fatalf("JoinValidation = %v, want nil", err)
				}
			case tc.other != nil:
				if err != tc.other {
					t.Fatalf("JoinValidation = %v, want %v as it is", err, tc.other)
				}
			default:
				var got *domain.ValidationError
				if !errors.As(err, &got) {
					t.Fatalf("JoinValidation = %v (%T), want *ValidationError", err, err)
				}
				var locs []string
				for _, f := range got.Fields {
					locs = append(locs, f.Location)
				}
				if strings.Join(locs, ",") != strings.Join(tc.want, ",") {
					t.Errorf("fields = %v, want %v", locs, tc.want)
				}
			}
		})
	}
}
