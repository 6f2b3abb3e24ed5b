package domain_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// t0 is the fixed "now" of the tests; it has sub-microsecond precision so
// that tests can check that stored times are truncated.
var t0 = time.Date(2026, time.March, 15, 12, 30, 0, 123456789, time.UTC)

func ptr[T any](v T) *T { return &v }

// wantErr fails unless err matches sentinel under errors.Is and carries its code.
func wantErr(t *testing.T, err error, sentinel *domain.Error) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", sentinel.Code)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(%v, %s) = false", err, sentinel.Code)
	}
	if got := domain.CodeOf(err); got != sentinel.Code {
		t.Errorf("CodeOf(%v) = %q, want %q", err, got, sentinel.Code)
	}
}

// wantFields fails unless err is a *domain.ValidationError naming exactly
// the given locations (in any order, duplicates ignored).
func wantFields(t *testing.T, err error, locations ...string) {
	t.Helper()
	if len(locations) == 0 {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	var ve *domain.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T), want *domain.ValidationError at %v", err, err, locations)
	}
	if !errors.Is(err, domain.ErrValidation) || domain.CodeOf(err) != domain.CodeValidation {
		t.Errorf("validation error does not match ErrValidation / VALIDATION_FAILED")
	}
	var got []string
	for _, f := range ve.Fields {
		if !slices.Contains(got, f.Location) {
			got = append(got, f.Location)
		}
		if f.Message == "" {
			t.Errorf("field %s has an empty message", f.Location)
		}
	}
	want := slices.Clone(locations)
	slices.Sort(got)
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(got, want) {
		t.Errorf("invalid fields = %v, want %v", got, want)
	}
}

// wantTime fails unless got is want truncated to microseconds in UTC.
func wantTime(t *testing.T, name string, got, want time.Time) {
	t.Helper()
	w := want.UTC().Truncate(time.Microsecond)
	if !got.Equal(w) || got.Location() != time.UTC || got.Nanosecond()%1000 != 0 {
		t.Errorf("%s = %v, want %v (UTC, microseconds)", name, got, w)
	}
}

func repeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for range n {
		out = append(out, s...)
	}
	return string(out)
}
