package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

func newOrg(t *testing.T, status domain.OrgStatus) domain.Organization {
	t.Helper()
	o, err := domain.NewOrganization(domain.OrgInput{Name: ptr("Acme University")}, t0)
	if err != nil {
		t.Fatalf("NewOrganization: %v", err)
	}
	o.Status = status
	if status == domain.OrgRejected || status == domain.OrgSuspended {
		o.StatusReason = "earlier reason"
	}
	return o
}

var orgOps = map[string]func(o *domain.Organization, now time.Time) error{
	"approve":  func(o *domain.Organization, now time.Time) error { return o.Approve(now) },
	"reject":   func(o *domain.Organization, now time.Time) error { return o.Reject("  incomplete profile  ", now) },
	"resubmit": func(o *domain.Organization, now time.Time) error { return o.Resubmit(now) },
	"suspend":  func(o *domain.Organization, now time.Time) error { return o.Suspend("abuse report", now) },
}

// TestOrganizationTransitions covers every (status, operation) pair: the
// four legal transitions of DESIGN.md plus lifting a suspension, and
// INVALID_STATE for all the others.
func TestOrganizationTransitions(t *testing.T) {
	t.Parallel()
	const illegal = domain.OrgStatus("")
	for _, tc := range []struct {
		from       domain.OrgStatus
		op         string
		to         domain.OrgStatus // illegal: the operation must fail
		wantReason string
	}{
		{domain.OrgPendingReview, "approve", domain.OrgApproved, ""},
		{domain.OrgPendingReview, "reject", domain.OrgRejected, "incomplete profile"},
		{domain.OrgPendingReview, "resubmit", illegal, ""},
		{domain.OrgPendingReview, "suspend", illegal, ""},

		{domain.OrgApproved, "approve", illegal, ""},
		{domain.OrgApproved, "reject", illegal, ""},
		{domain.OrgApproved, "resubmit", illegal, ""},
		{domain.OrgApproved, "suspend", domain.OrgSuspended, "abuse report"},

		{domain.OrgRejected, "approve", illegal, ""},
		{domain.OrgRejected, "reject", illegal, ""},
		{domain.OrgRejected, "resubmit", domain.OrgPendingReview, ""},
		{domain.OrgRejected, "suspend", illegal, ""},

		{domain.OrgSuspended, "approve", domain.OrgApproved, ""},
		{domain.OrgSuspended, "reject", illegal, ""},
		{domain.OrgSuspended, "resubmit", illegal, ""},
		{domain.OrgSuspended, "suspend", illegal, ""},
	} {
		t.Run(string(tc.from)+"/"+tc.op, func(t *testing.T) {
			t.Parallel()
			o := newOrg(t, tc.from)
			before := o
			now := t0.Add(time.Hour)
			err := orgOps[tc.op](&o, now)
			if tc.to == illegal {
				wantErr(t, err, domain.ErrInvalidState)
				var ve *domain.ValidationError
				if errors.As(err, &ve) {
					t.Errorf("illegal transition returned a validation error: %v", err)
				}
				if o != before {
					t.Errorf("illegal transition changed the organization:\n got %+v\nwant %+v", o, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s from %s: %v", tc.op, tc.from, err)
			}
			if o.Status != tc.to {
				t.Errorf("status = %s, want %s", o.Status, tc.to)
			}
			if o.StatusReason != tc.wantReason {
				t.Errorf("status reason = %q, want %q", o.StatusReason, tc.wantReason)
			}
			wantTime(t, "UpdatedAt", o.UpdatedAt, now)
			if o.CreatedAt != before.CreatedAt || o.Name != before.Name || o.Slug != before.Slug {
				t.Errorf("transition changed more than status: %+v", o)
			}
		})
	}
}

// TestOrganizationLifecycle walks the whole life of an organization and
// checks CanIssue at every step.
func TestOrganizationLifecycle(t *testing.T) {
	t.Parallel()
	o, err := domain.NewOrganization(domain.OrgInput{Name: ptr("Acme")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	step := func(name string, f func() error, want domain.OrgStatus, canIssue bool) {
		t.Helper()
		now = now.Add(time.Minute)
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o.Status != want {
			t.Fatalf("after %s: status = %s, want %s", name, o.Status, want)
		}
		if err := o.CanIssue(); (err == nil) != canIssue {
			t.Fatalf("after %s: CanIssue() = %v, want ok=%v", name, err, canIssue)
		}
	}
	if o.Status != domain.OrgPendingReview || o.CanIssue() == nil {
		t.Fatalf("new organization: status %s, CanIssue %v", o.Status, o.CanIssue())
	}
	step("reject", func() error { return o.Reject("missing website", now) }, domain.OrgRejected, false)
	if o.StatusReason != "missing website" {
		t.Errorf("reason = %q", o.StatusReason)
	}
	step("edit while rejected", func() error {
		return o.Update(domain.OrgInput{WebsiteURL: ptr("https://acme.example")}, now)
	}, domain.OrgRejected, false)
	step("resubmit", func() error { return o.Resubmit(now) }, domain.OrgPendingReview, false)
	if o.StatusReason != "" {
		t.Errorf("reason after resubmit = %q, want it cleared", o.StatusReason)
	}
	step("approve", func() error { return o.Approve(now) }, domain.OrgApproved, true)
	step("suspend", func() error { return o.Suspend("chargeback", now) }, domain.OrgSuspended, false)
	if o.StatusReason != "chargeback" {
		t.Errorf("reason = %q", o.StatusReason)
	}
	step("lift suspension", func() error { return o.Approve(now) }, domain.OrgApproved, true)
	if o.StatusReason != "" {
		t.Errorf("reason after approval = %q, want it cleared", o.StatusReason)
	}
}

func TestOrganizationReasonRequired(t *testing.T) {
	t.Parallel()
	type op struct {
		name string
		from domain.OrgStatus
		call func(o *domain.Organization, reason string) error
	}
	ops := []op{
		{"reject", domain.OrgPendingReview, func(o *domain.Organization, r string) error { return o.Reject(r, t0) }},
		{"suspend", domain.OrgApproved, func(o *domain.Organization, r string) error { return o.Suspend(r, t0) }},
	}
	for _, o := range ops {
		for _, tc := range []struct {
			name   string
			reason string
			ok     bool
			stored string
		}{
			{"empty", "", false, ""},
			{"spaces", "   ", false, ""},
			{"whitespace_only_multiline", " \n\t ", false, ""},
			{"control_character", "spam\x00", false, ""},
			{"too_long", repeat("x", 1001), false, ""},
			{"invalid_utf8", "bad \xff reason", false, ""},
			{"one_char", "x", true, "x"},
			{"trimmed", "  spam  ", true, "spam"},
			{"multiline", "line one\nline two", true, "line one\nline two"},
			{"max_length", repeat("é", 1000), true, repeat("é", 1000)},
		} {
			t.Run(o.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				org := newOrg(t, o.from)
				before := org
				err := o.call(&org, tc.reason)
				if !tc.ok {
					wantFields(t, err, "body.reason")
					if org != before {
						t.Errorf("a refused %s changed the organization", o.name)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s(%q): %v", o.name, tc.reason, err)
				}
				if org.StatusReason != tc.stored {
					t.Errorf("reason = %q, want %q", org.StatusReason, tc.stored)
				}
			})
		}
	}
}

func TestOrganizationCanIssue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status domain.OrgStatus
		ok     bool
	}{
		{domain.OrgPendingReview, false},
		{domain.OrgApproved, true},
		{domain.OrgRejected, false},
		{domain.OrgSuspended, false},
		{domain.OrgStatus("bogus"), false},
		{domain.OrgStatus(""), false},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			t.Parallel()
			o := newOrg(t, tc.status)
			err := o.CanIssue()
			if tc.ok {
				if err != nil {
					t.Fatalf("CanIssue() = %v, want nil", err)
				}
				return
			}
			wantErr(t, err, domain.ErrOrgNotApproved)
		})
	}
}

func TestNewOrganization(t *testing.T) {
	t.Parallel()
	o, err := domain.NewOrganization(domain.OrgInput{
		Name:        ptr("  Acme University  "),
		WebsiteURL:  ptr("  https://acme.example/about  "),
		Description: ptr("  We teach.\nWe certify.  "),
	}, t0.In(time.FixedZone("X", 3600)))
	if err != nil {
		t.Fatalf("NewOrganization: %v", err)
	}
	if !domain.IsID(o.ID) {
		t.Errorf("ID = %q, want a UUID", o.ID)
	}
	for _, c := range []struct{ name, got, want string }{
		{"Name", o.Name, "Acme University"},
		{"Slug", o.Slug, "acme-university"},
		{"WebsiteURL", o.WebsiteURL, "https://acme.example/about"},
		{"Description", o.Description, "We teach.\nWe certify."},
		{"Status", string(o.Status), string(domain.OrgPendingReview)},
		{"StatusReason", o.StatusReason, ""},
		{"Plan", string(o.Plan), string(domain.PlanFree)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !o.EmailsEnabled {
		t.Error("EmailsEnabled = false, want recipient emails on by default")
	}
	wantTime(t, "CreatedAt", o.CreatedAt, t0)
	wantTime(t, "UpdatedAt", o.UpdatedAt, t0)

	o2, err := domain.NewOrganization(domain.OrgInput{Name: ptr("Acme University")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if o2.ID == o.ID {
		t.Error("two organizations got the same ID")
	}
}

func TestNewOrganizationValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		in       domain.OrgInput
		want     []string // invalid fields; none: success
		wantSlug string
	}{
		{"name_only_derives_slug", domain.OrgInput{Name: ptr("Acme University")}, nil, "acme-university"},
		{"slug_derivation_punctuation", domain.OrgInput{Name: ptr("  ACME, Inc. -- School of Code!  ")}, nil, "acme-inc-school-of-code"},
		{"slug_derivation_digits", domain.OrgInput{Name: ptr("42 Academy")}, nil, "42-academy"},
		{"slug_derivation_drops_non_ascii", domain.OrgInput{Name: ptr("École Polytechnique")}, nil, "cole-polytechnique"},
		{"explicit_slug_wins", domain.OrgInput{Name: ptr("Acme University"), Slug: ptr("acme")}, nil, "acme"},
		{"explicit_slug_two_chars", domain.OrgInput{Name: ptr("Acme"), Slug: ptr("ac")}, nil, "ac"},
		{"explicit_slug_63_chars", domain.OrgInput{Name: ptr("Acme"), Slug: ptr(repeat("a", 63))}, nil, repeat("a", 63)},
		{"long_name_derives_valid_slug", domain.OrgInput{Name: ptr(repeat("word ", 24))}, nil, ""},
		{"name_120_runes", domain.OrgInput{Name: ptr(repeat("é", 119) + "a"), Slug: ptr("acme")}, nil, "acme"},
		{"website_empty_is_fine", domain.OrgInput{Name: ptr("Acme"), WebsiteURL: ptr("")}, nil, "acme"},
		{"website_http", domain.OrgInput{Name: ptr("Acme"), WebsiteURL: ptr("http://acme.example")}, nil, "acme"},
		{"description_2000", domain.OrgInput{Name: ptr("Acme"), Description: ptr(repeat("d", 2000))}, nil, "acme"},
		{"description_empty", domain.OrgInput{Name: ptr("Acme"), Description: ptr("")}, nil, "acme"},

		{"name_missing", domain.OrgInput{}, []string{"body.name"}, ""},
		{"name_missing_with_slug", domain.OrgInput{Slug: ptr("acme")}, []string{"body.name"}, ""},
		{"name_empty", domain.OrgInput{Name: ptr(""), Slug: ptr("acme")}, []string{"body.name"}, ""},
		{"name_blank", domain.OrgInput{Name: ptr("   "), Slug: ptr("acme")}, []string{"body.name"}, ""},
		{"name_empty", domain.OrgInput{Name: ptr("")}, []string{"body.name"}, ""},
		{"name_121_runes", domain.OrgInput{Name: ptr(repeat("é", 121)), Slug: ptr("acme")}, []string{"body.name"}, ""},
		{"name_control_char", domain.OrgInput{Name: ptr("Acme\x07"), Slug: ptr("acme")}, []string{"body.name"}, ""},
		{"name_newline", domain.OrgInput{Name: ptr("Acme\nUniversity"), Slug: ptr("acme")}, []string{"body.name"}, ""},
		{"name_invalid_utf8", domain.OrgInput{Name: ptr("Acme \xff"), Slug: ptr("acme")}, []string{"body.name"}, ""},
		// A name without enough ASCII letters or digits derives a
		// fallback slug with a random suffix.
		{"name_without_ascii_gets_fallback_slug", domain.OrgInput{Name: ptr("日本大学")}, nil, ""},
		{"one_letter_name_gets_suffixed_slug", domain.OrgInput{Name: ptr("A")}, nil, ""},
		{"slug_uppercase", domain.OrgInput{Name: ptr("Acme"), Slug: ptr("Acme")}, []string{"body.slug"}, ""},
		{"slug_one_char", domain.OrgInput{Name: ptr("Acme"), Slug: ptr("a")}, []string{"body.slug"}, ""},
		{"slug_64_chars", domain.OrgInput{Name: ptr("Acme"), Slug: ptr(repeat("a", 64))}, []string{"body.slug"}, ""},
		{"slug_leading_hyphen", domain.OrgInput{Name: ptr("Acme"), Slug: ptr("-acme")}, []string{"body.slug"}, ""},
		{"slug_double_hyphen", domain.OrgInput{Name: ptr("Acme"), Slug: ptr("acme--u")}, []string{"body.slug"}, ""},
		{"slug_space", domain.OrgInput{Name: ptr("Acme"), Slug: ptr("acme u")}, []string{"body.slug"}, ""},
		{"slug_empty", domain.OrgInput{Name: ptr("Acme"), Slug: ptr("")}, []string{"body.slug"}, ""},
		{"website_not_url", domain.OrgInput{Name: ptr("Acme"), WebsiteURL: ptr("acme.example")}, []string{"body.websiteUrl"}, ""},
		{"website_ftp", domain.OrgInput{Name: ptr("Acme"), WebsiteURL: ptr("ftp://acme.example")}, []string{"body.websiteUrl"}, ""},
		{"website_javascript", domain.OrgInput{Name: ptr("Acme"), WebsiteURL: ptr("javascript:alert(1)")}, []string{"body.websiteUrl"}, ""},
		{"website_userinfo", domain.OrgInput{Name: ptr("Acme"), WebsiteURL: ptr("https://u:p@acme.example")}, []string{"body.websiteUrl"}, ""},
		{"description_2001", domain.OrgInput{Name: ptr("Acme"), Description: ptr(repeat("d", 2001))}, []string{"body.description"}, ""},
		{"description_control_char", domain.OrgInput{Name: ptr("Acme"), Description: ptr("a\x00b")}, []string{"body.description"}, ""},
		{"every_field_bad", domain.OrgInput{Name: ptr(""), Slug: ptr("--"), WebsiteURL: ptr("nope"), Description: ptr(repeat("d", 2001))},
			[]string{"body.name", "body.slug", "body.websiteUrl", "body.description"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := domain.NewOrganization(tc.in, t0)
			wantFields(t, err, tc.want...)
			if err != nil || len(tc.want) > 0 {
				return
			}
			if !domain.ValidSlug(o.Slug) {
				t.Errorf("slug %q is not valid", o.Slug)
			}
			if tc.wantSlug != "" && o.Slug != tc.wantSlug {
				t.Errorf("slug = %q, want %q", o.Slug, tc.wantSlug)
			}
		})
	}
}

func TestOrganizationUpdate(t *testing.T) {
	t.Parallel()
	later := t0.Add(24 * time.Hour)
	for _, tc := range []struct {
		name  string
		in    domain.OrgInput
		want  []string // invalid fields
		check func(t *testing.T, o domain.Organization)
	}{
		{"nothing", domain.OrgInput{}, nil, func(t *testing.T, o domain.Organization) {
			wantTime(t, "UpdatedAt", o.UpdatedAt, later)
		}},
		{"rename_keeps_slug", domain.OrgInput{Name: ptr("  Acme Global  ")}, nil, func(t *testing.T, o domain.Organization) {
			if o.Name != "Acme Global" || o.Slug != "acme-university" {
				t.Errorf("name, slug = %q, %q", o.Name, o.Slug)
			}
			wantTime(t, "UpdatedAt", o.UpdatedAt, later)
			wantTime(t, "CreatedAt", o.CreatedAt, t0)
		}},
		{"same_slug_is_not_a_change", domain.OrgInput{Slug: ptr("acme-university"), Name: ptr("Acme U")}, nil, func(t *testing.T, o domain.Organization) {
			if o.Slug != "acme-university" || o.Name != "Acme U" {
				t.Errorf("name, slug = %q, %q", o.Name, o.Slug)
			}
		}},
		{"website_and_description", domain.OrgInput{WebsiteURL: ptr("https://acme.example"), Description: ptr("About us")}, nil, func(t *testing.T, o domain.Organization) {
			if o.WebsiteURL != "https://acme.example" || o.Description != "About us" {
				t.Errorf("website, description = %q, %q", o.WebsiteURL, o.Description)
			}
		}},
		{"slug_change_refused", domain.OrgInput{Slug: ptr("acme-new")}, []string{"body.slug"}, nil},
		{"slug_change_to_invalid_refused", domain.OrgInput{Slug: ptr("Bad Slug")}, []string{"body.slug"}, nil},
		{"name_empty", domain.OrgInput{Name: ptr(" ")}, []string{"body.name"}, nil},
		{"website_bad", domain.OrgInput{WebsiteURL: ptr("acme")}, []string{"body.websiteUrl"}, nil},
		{"description_too_long", domain.OrgInput{Description: ptr(repeat("d", 2001))}, []string{"body.description"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrg(t, domain.OrgApproved)
			o.WebsiteURL = "https://old.example"
			before := o
			err := o.Update(tc.in, later)
			wantFields(t, err, tc.want...)
			if len(tc.want) > 0 {
				if o.Slug != before.Slug || o.UpdatedAt != before.UpdatedAt || o.Status != before.Status {
					t.Errorf("refused update changed slug, time or status: %+v", o)
				}
				return
			}
			tc.check(t, o)
		})
	}
}

func TestOrganizationUpdateClearsWebsite(t *testing.T) {
	t.Parallel()
	o := newOrg(t, domain.OrgPendingReview)
	o.WebsiteURL = "https://old.example"
	if err := o.Update(domain.OrgInput{WebsiteURL: ptr("  ")}, t0); err != nil {
		t.Fatal(err)
	}
	if o.WebsiteURL != "" {
		t.Errorf("website = %q, want it cleared", o.WebsiteURL)
	}
}

// A refused update must leave the organization as it was, like
// Badge.Update does; otherwise a caller that keeps using the value after
// the error (or saves it in a retry path) persists half an edit.
func TestOrganizationUpdateIsAtomic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   domain.OrgInput
	}{
		{"valid_name_with_bad_website", domain.OrgInput{Name: ptr("Renamed"), WebsiteURL: ptr("not a url")}},
		{"valid_name_with_slug_change", domain.OrgInput{Name: ptr("Renamed"), Slug: ptr("other-slug")}},
		{"bad_name_alone", domain.OrgInput{Name: ptr("")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrg(t, domain.OrgApproved)
			before := o
			if err := o.Update(tc.in, t0.Add(time.Hour)); err == nil {
				t.Fatal("Update accepted invalid input")
			}
			if o != before {
				t.Errorf("refused update changed the organization:\n got %+v\nwant %+v", o, before)
			}
		})
	}
}
