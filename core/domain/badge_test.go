package domain_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

func badgeInput() domain.BadgeInput {
	return domain.BadgeInput{
		Name:        ptr("Go Fundamentals"),
		Description: ptr("Knows the basics of Go."),
		Criteria:    ptr("Passed the exam."),
		ImageURL:    ptr("https://img.example/go.png"),
	}
}

func newBadge(t *testing.T, edit func(in *domain.BadgeInput)) domain.Badge {
	t.Helper()
	in := badgeInput()
	if edit != nil {
		edit(&in)
	}
	b, err := domain.NewBadge("org-1", in, t0)
	if err != nil {
		t.Fatalf("NewBadge: %v", err)
	}
	return b
}

func TestNewBadge(t *testing.T) {
	t.Parallel()
	b, err := domain.NewBadge("org-1", domain.BadgeInput{
		Name:        ptr("  Go Fundamentals  "),
		Description: ptr("  Knows the basics.\nAnd more.  "),
		Criteria:    ptr("Passed\tthe exam."),
		ImageURL:    ptr("  https://img.example/go.png  "),
	}, t0.In(time.FixedZone("X", -5*3600)))
	if err != nil {
		t.Fatalf("NewBadge: %v", err)
	}
	if !domain.IsID(b.ID) {
		t.Errorf("ID = %q, want a UUID", b.ID)
	}
	for _, c := range []struct{ name, got, want string }{
		{"OrgID", b.OrgID, "org-1"},
		{"Name", b.Name, "Go Fundamentals"},
		{"Slug", b.Slug, "go-fundamentals"},
		{"Description", b.Description, "Knows the basics.\nAnd more."},
		{"Criteria", b.Criteria, "Passed\tthe exam."},
		{"ImageURL", b.ImageURL, "https://img.example/go.png"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !b.Active || b.Locked {
		t.Errorf("Active, Locked = %v, %v; want a new badge active and unlocked", b.Active, b.Locked)
	}
	if b.Tags == nil || len(b.Tags) != 0 {
		t.Errorf("Tags = %#v, want an empty non-nil slice", b.Tags)
	}
	if b.ExpiresInDays != nil {
		t.Errorf("ExpiresInDays = %d, want nil", *b.ExpiresInDays)
	}
	wantTime(t, "CreatedAt", b.CreatedAt, t0)
	wantTime(t, "UpdatedAt", b.UpdatedAt, t0)
}

func TestNewBadgeValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(in *domain.BadgeInput)
		want []string
	}{
		{"valid", func(in *domain.BadgeInput) {}, nil},
		{"explicit_slug", func(in *domain.BadgeInput) { in.Slug = ptr("go-101") }, nil},
		{"name_120_runes_non_ascii_derives_fallback_slug", func(in *domain.BadgeInput) { in.Name = ptr(repeat("ü", 119) + "x") }, nil},
		{"name_120_runes_with_slug", func(in *domain.BadgeInput) { in.Name, in.Slug = ptr(repeat("ü", 120)), ptr("uu") }, nil},
		{"description_2000", func(in *domain.BadgeInput) { in.Description = ptr(repeat("d", 2000)) }, nil},
		{"criteria_4000", func(in *domain.BadgeInput) { in.Criteria = ptr(repeat("c", 4000)) }, nil},
		{"http_image", func(in *domain.BadgeInput) { in.ImageURL = ptr("http://img.example/a.png") }, nil},
		{"expires_1", func(in *domain.BadgeInput) { in.ExpiresInDays = ptr(1) }, nil},
		{"expires_max", func(in *domain.BadgeInput) { in.ExpiresInDays = ptr(domain.MaxExpiresInDays) }, nil},
		{"tags_30", func(in *domain.BadgeInput) {
			tags := make([]string, 30)
			for i := range tags {
				tags[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
			}
			in.Tags = &tags
		}, nil},
		{"tag_50_runes", func(in *domain.BadgeInput) { in.Tags = &[]string{repeat("t", 50)} }, nil},
		{"tags_empty_list", func(in *domain.BadgeInput) { in.Tags = &[]string{} }, nil},

		{"name_missing", func(in *domain.BadgeInput) { in.Name = nil }, []string{"body.name"}},
		{"description_missing", func(in *domain.BadgeInput) { in.Description = nil }, []string{"body.description"}},
		{"criteria_missing", func(in *domain.BadgeInput) { in.Criteria = nil }, []string{"body.criteria"}},
		{"image_missing", func(in *domain.BadgeInput) { in.ImageURL = nil }, []string{"body.imageUrl"}},
		{"all_missing", func(in *domain.BadgeInput) { *in = domain.BadgeInput{} }, []string{"body.name", "body.description", "body.criteria", "body.imageUrl"}},
		{"name_blank", func(in *domain.BadgeInput) { in.Name, in.Slug = ptr("  "), ptr("go") }, []string{"body.name"}},
		{"name_blank", func(in *domain.BadgeInput) { in.Name = ptr("") }, []string{"body.name"}},
		{"name_121_runes", func(in *domain.BadgeInput) { in.Name, in.Slug = ptr(repeat("n", 121)), ptr("go") }, []string{"body.name"}},
		{"name_newline", func(in *domain.BadgeInput) { in.Name = ptr("Go\nFundamentals") }, []string{"body.name"}},
		{"slug_invalid", func(in *domain.BadgeInput) { in.Slug = ptr("Go 101") }, []string{"body.slug"}},
		{"slug_too_long", func(in *domain.BadgeInput) { in.Slug = ptr(repeat("s", 64)) }, []string{"body.slug"}},
		{"description_blank", func(in *domain.BadgeInput) { in.Description = ptr(" \n ") }, []string{"body.description"}},
		{"description_2001", func(in *domain.BadgeInput) { in.Description = ptr(repeat("d", 2001)) }, []string{"body.description"}},
		{"criteria_blank", func(in *domain.BadgeInput) { in.Criteria = ptr("") }, []string{"body.criteria"}},
		{"criteria_4001", func(in *domain.BadgeInput) { in.Criteria = ptr(repeat("c", 4001)) }, []string{"body.criteria"}},
		{"criteria_control_char", func(in *domain.BadgeInput) { in.Criteria = ptr("pass\x1b[0m") }, []string{"body.criteria"}},
		{"image_not_url", func(in *domain.BadgeInput) { in.ImageURL = ptr("go.png") }, []string{"body.imageUrl"}},
		{"image_data_url", func(in *domain.BadgeInput) { in.ImageURL = ptr("data:image/png;base64,AAAA") }, []string{"body.imageUrl"}},
		{"image_empty", func(in *domain.BadgeInput) { in.ImageURL = ptr("") }, []string{"body.imageUrl"}},
		{"tags_31", func(in *domain.BadgeInput) {
			tags := make([]string, 31)
			for i := range tags {
				tags[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
			}
			in.Tags = &tags
		}, []string{"body.tags"}},
		{"tag_empty", func(in *domain.BadgeInput) { in.Tags = &[]string{"go", ""} }, []string{"body.tags"}},
		{"tag_blank", func(in *domain.BadgeInput) { in.Tags = &[]string{"  "} }, []string{"body.tags"}},
		{"tag_51_runes", func(in *domain.BadgeInput) { in.Tags = &[]string{repeat("t", 51)} }, []string{"body.tags"}},
		{"tag_newline", func(in *domain.BadgeInput) { in.Tags = &[]string{"a\nb"} }, []string{"body.tags"}},
		{"expires_0", func(in *domain.BadgeInput) { in.ExpiresInDays = ptr(0) }, []string{"body.expiresInDays"}},
		{"expires_negative", func(in *domain.BadgeInput) { in.ExpiresInDays = ptr(-1) }, []string{"body.expiresInDays"}},
		{"expires_over_max", func(in *domain.BadgeInput) { in.ExpiresInDays = ptr(domain.MaxExpiresInDays + 1) }, []string{"body.expiresInDays"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := badgeInput()
			tc.edit(&in)
			_, err := domain.NewBadge("org-1", in, t0)
			wantFields(t, err, tc.want...)
		})
	}
}

func TestBadgeTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"kept_in_order", []string{"go", "backend", "cloud"}, []string{"go", "backend", "cloud"}},
		{"trimmed", []string{"  go  ", "\tcloud"}, []string{"go", "cloud"}},
		{"exact_duplicates", []string{"go", "go", "go"}, []string{"go"}},
		{"duplicates_after_trim", []string{"go", " go", "go "}, []string{"go"}},
		{"first_occurrence_wins", []string{"b", "a", "b", "c", "a"}, []string{"b", "a", "c"}},
		{"case_is_significant", []string{"Go", "go"}, []string{"Go", "go"}},
		{"empty", []string{}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tags := slices.Clone(tc.in)
			b := newBadge(t, func(in *domain.BadgeInput) { in.Tags = &tags })
			if !slices.Equal(b.Tags, tc.want) || b.Tags == nil {
				t.Errorf("Tags = %#v, want %#v", b.Tags, tc.want)
			}
			if len(tags) > 0 {
				tags[0] = "mutated"
				if slices.Contains(b.Tags, "mutated") {
					t.Error("the badge shares the caller's tag slice")
				}
			}
		})
	}
}

func TestNewBadgeCopiesExpiry(t *testing.T) {
	t.Parallel()
	days := 30
	b := newBadge(t, func(in *domain.BadgeInput) { in.ExpiresInDays = &days })
	days = 1
	if b.ExpiresInDays == nil || *b.ExpiresInDays != 30 {
		t.Errorf("ExpiresInDays follows the caller's variable: %v", b.ExpiresInDays)
	}
}

// lockedBadge has every signed field set, including tags and an expiry.
func lockedBadge(t *testing.T) domain.Badge {
	t.Helper()
	b := newBadge(t, func(in *domain.BadgeInput) {
		in.Slug = ptr("go-fundamentals")
		in.Tags = &[]string{"go", "backend"}
		in.ExpiresInDays = ptr(365)
	})
	b.Locked = true
	return b
}

func TestBadgeUpdateLocked(t *testing.T) {
	t.Parallel()
	same := badgeInput()
	same.Slug = ptr("go-fundamentals")
	same.Tags = &[]string{"go", "backend"}
	same.ExpiresInDays = ptr(365)
	for _, tc := range []struct {
		name   string
		in     domain.BadgeInput
		locked bool // want BADGE_LOCKED
	}{
		{"nothing", domain.BadgeInput{}, false},
		{"every_field_same", same, false},
		{"same_name", domain.BadgeInput{Name: ptr("Go Fundamentals")}, false},
		{"same_name_untrimmed", domain.BadgeInput{Name: ptr("  Go Fundamentals \t")}, false},
		{"same_slug", domain.BadgeInput{Slug: ptr("go-fundamentals")}, false},
		{"same_image_untrimmed", domain.BadgeInput{ImageURL: ptr(" https://img.example/go.png ")}, false},
		{"same_tags", domain.BadgeInput{Tags: &[]string{"go", "backend"}}, false},
		{"same_tags_with_duplicates", domain.BadgeInput{Tags: &[]string{"go", "backend", " go"}}, false},
		{"same_expiry", domain.BadgeInput{ExpiresInDays: ptr(365)}, false},

		{"name", domain.BadgeInput{Name: ptr("Go Advanced")}, true},
		{"name_case", domain.BadgeInput{Name: ptr("go fundamentals")}, true},
		{"slug", domain.BadgeInput{Slug: ptr("go-basics")}, true},
		{"description", domain.BadgeInput{Description: ptr("Something else.")}, true},
		{"criteria", domain.BadgeInput{Criteria: ptr("Passed two exams.")}, true},
		{"image", domain.BadgeInput{ImageURL: ptr("https://img.example/go2.png")}, true},
		{"tags_added", domain.BadgeInput{Tags: &[]string{"go", "backend", "cloud"}}, true},
		{"tags_removed", domain.BadgeInput{Tags: &[]string{"go"}}, true},
		{"tags_cleared", domain.BadgeInput{Tags: &[]string{}}, true},
		{"tags_reordered", domain.BadgeInput{Tags: &[]string{"backend", "go"}}, true},
		{"expiry", domain.BadgeInput{ExpiresInDays: ptr(366)}, true},
		{"clear_expiry", domain.BadgeInput{ClearExpiry: true}, true},
		{"one_change_among_same_values", func() domain.BadgeInput {
			in := same
			in.Criteria = ptr("Passed two exams.")
			return in
		}(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := lockedBadge(t)
			before := b
			before.Tags = slices.Clone(b.Tags)
			later := t0.Add(time.Hour)
			err := b.Update(tc.in, later)
			if tc.locked {
				wantErr(t, err, domain.ErrBadgeLocked)
				if !reflect.DeepEqual(b, before) {
					t.Errorf("refused update changed the badge:\n got %+v\nwant %+v", b, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Update with unchanged signed fields: %v", err)
			}
			wantTime(t, "UpdatedAt", b.UpdatedAt, later)
			if !b.SameSignedFields(before) || !b.Locked || !b.Active {
				t.Errorf("no-op update changed the badge: %+v", b)
			}
		})
	}
}

func TestBadgeUpdateUnlocked(t *testing.T) {
	t.Parallel()
	b := lockedBadge(t)
	b.Locked = false
	later := t0.Add(time.Hour)
	err := b.Update(domain.BadgeInput{
		Name:          ptr("Go Advanced"),
		Slug:          ptr("go-advanced"),
		Description:   ptr("More Go."),
		Criteria:      ptr("Two exams."),
		ImageURL:      ptr("https://img.example/adv.png"),
		Tags:          &[]string{"go", "advanced", "go"},
		ExpiresInDays: ptr(30),
	}, later)
	if err != nil {
		t.Fatalf("Update of an unlocked badge: %v", err)
	}
	want := domain.Badge{
		ID: b.ID, OrgID: "org-1", Name: "Go Advanced", Slug: "go-advanced", Description: "More Go.",
		Criteria: "Two exams.", ImageURL: "https://img.example/adv.png", Tags: []string{"go", "advanced"},
		ExpiresInDays: ptr(30), Active: true, CreatedAt: b.CreatedAt, UpdatedAt: later.Truncate(time.Microsecond),
	}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("after Update:\n got %+v\nwant %+v", b, want)
	}
	wantTime(t, "CreatedAt", b.CreatedAt, t0)
}

func TestBadgeUpdateRenameKeepsSlug(t *testing.T) {
	t.Parallel()
	b := newBadge(t, nil)
	if err := b.Update(domain.BadgeInput{Name: ptr("Go Advanced")}, t0); err != nil {
		t.Fatal(err)
	}
	if b.Slug != "go-fundamentals" {
		t.Errorf("slug = %q; renaming must not re-derive the slug", b.Slug)
	}
}

func TestBadgeUpdateValidation(t *testing.T) {
	t.Parallel()
	for _, locked := range []bool{false, true} {
		for _, tc := range []struct {
			name string
			in   domain.BadgeInput
			want []string
		}{
			{"name_blank", domain.BadgeInput{Name: ptr(" ")}, []string{"body.name"}},
			{"slug_bad", domain.BadgeInput{Slug: ptr("Bad Slug")}, []string{"body.slug"}},
			{"description_blank", domain.BadgeInput{Description: ptr("")}, []string{"body.description"}},
			{"criteria_too_long", domain.BadgeInput{Criteria: ptr(repeat("c", 4001))}, []string{"body.criteria"}},
			{"image_bad", domain.BadgeInput{ImageURL: ptr("ftp://x.example/a.png")}, []string{"body.imageUrl"}},
			{"tag_bad", domain.BadgeInput{Tags: &[]string{""}}, []string{"body.tags"}},
			{"expiry_bad", domain.BadgeInput{ExpiresInDays: ptr(0)}, []string{"body.expiresInDays"}},
			{"several_with_a_valid_one", domain.BadgeInput{Name: ptr("Fine Name"), Slug: ptr("-"), ExpiresInDays: ptr(-3)}, []string{"body.slug", "body.expiresInDays"}},
		} {
			name := tc.name
			if locked {
				name = "locked/" + name
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := lockedBadge(t)
				b.Locked = locked
				before := b
				before.Tags = slices.Clone(b.Tags)
				err := b.Update(tc.in, t0.Add(time.Hour))
				wantFields(t, err, tc.want...)
				if !reflect.DeepEqual(b, before) {
					t.Errorf("refused update changed the badge:\n got %+v\nwant %+v", b, before)
				}
			})
		}
	}
}

func TestBadgeClearExpiry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		locked  bool
		start   *int
		in      domain.BadgeInput
		want    *int
		wantErr bool
	}{
		{"clears", false, ptr(30), domain.BadgeInput{ClearExpiry: true}, nil, false},
		{"clear_wins_over_value", false, ptr(30), domain.BadgeInput{ClearExpiry: true, ExpiresInDays: ptr(10)}, nil, false},
		{"clear_wins_over_invalid_value", false, ptr(30), domain.BadgeInput{ClearExpiry: true, ExpiresInDays: ptr(0)}, nil, false},
		{"clear_when_none", false, nil, domain.BadgeInput{ClearExpiry: true}, nil, false},
		{"locked_clear_when_none_is_no_change", true, nil, domain.BadgeInput{ClearExpiry: true}, nil, false},
		{"locked_clear_when_set_is_locked", true, ptr(30), domain.BadgeInput{ClearExpiry: true}, ptr(30), true},
		{"set_when_none", false, nil, domain.BadgeInput{ExpiresInDays: ptr(7)}, ptr(7), false},
		{"locked_set_when_none_is_locked", true, nil, domain.BadgeInput{ExpiresInDays: ptr(7)}, nil, true},
		{"absent_keeps_expiry", false, ptr(30), domain.BadgeInput{Name: ptr("Renamed")}, ptr(30), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBadge(t, func(in *domain.BadgeInput) { in.ExpiresInDays = tc.start })
			b.Locked = tc.locked
			err := b.Update(tc.in, t0)
			if tc.wantErr {
				wantErr(t, err, domain.ErrBadgeLocked)
			} else if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if (b.ExpiresInDays == nil) != (tc.want == nil) || (tc.want != nil && *b.ExpiresInDays != *tc.want) {
				t.Errorf("ExpiresInDays = %v, want %v", b.ExpiresInDays, tc.want)
			}
		})
	}
}

func TestBadgeCanIssue(t *testing.T) {
	t.Parallel()
	b := newBadge(t, nil)
	if err := b.CanIssue(); err != nil {
		t.Errorf("active badge: CanIssue() = %v", err)
	}
	b.Locked = true
	if err := b.CanIssue(); err != nil {
		t.Errorf("locked active badge: CanIssue() = %v", err)
	}
	b.Active = false
	wantErr(t, b.CanIssue(), domain.ErrBadgeInactive)
}

func TestBadgeExpiryFrom(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		days     *int
		issuedAt time.Time
		want     *time.Time
	}{
		{"never", nil, t0, nil},
		{"one_day", ptr(1), t0, ptr(t0.AddDate(0, 0, 1))},
		{"thirty_days", ptr(30), time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC), ptr(time.Date(2026, 2, 14, 10, 0, 0, 0, time.UTC))},
		{"leap_day", ptr(1), time.Date(2024, 2, 28, 0, 0, 0, 0, time.UTC), ptr(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC))},
		{"year_in_leap_year", ptr(365), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), ptr(time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC))},
		{"max", ptr(domain.MaxExpiresInDays), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ptr(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 36500))},
		{"truncated_to_utc_microseconds", ptr(2), time.Date(2026, 5, 1, 23, 0, 0, 999, time.FixedZone("X", -2*3600)), ptr(time.Date(2026, 5, 4, 1, 0, 0, 0, time.UTC))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBadge(t, nil)
			b.ExpiresInDays = tc.days
			got := b.ExpiryFrom(tc.issuedAt)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("ExpiryFrom = %v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("ExpiryFrom = nil, want %v", tc.want)
			}
			wantTime(t, "ExpiryFrom", *got, *tc.want)
		})
	}
}

func TestBadgeSameSignedFields(t *testing.T) {
	t.Parallel()
	base := lockedBadge(t)
	for _, tc := range []struct {
		name string
		edit func(b *domain.Badge)
		want bool
	}{
		{"identical", func(b *domain.Badge) {}, true},
		{"unsigned_fields_differ", func(b *domain.Badge) {
			b.ID, b.OrgID, b.Active, b.Locked, b.UpdatedAt = "x", "y", false, false, t0.Add(time.Hour)
		}, true},
		{"expiry_equal_value_other_pointer", func(b *domain.Badge) { b.ExpiresInDays = ptr(365) }, true},
		{"tags_emptied", func(b *domain.Badge) { b.Tags = []string{} }, false},
		{"name", func(b *domain.Badge) { b.Name += "!" }, false},
		{"slug", func(b *domain.Badge) { b.Slug += "-x" }, false},
		{"description", func(b *domain.Badge) { b.Description += "!" }, false},
		{"criteria", func(b *domain.Badge) { b.Criteria += "!" }, false},
		{"image", func(b *domain.Badge) { b.ImageURL += "?v=2" }, false},
		{"tags", func(b *domain.Badge) { b.Tags = []string{"go"} }, false},
		{"expiry_value", func(b *domain.Badge) { b.ExpiresInDays = ptr(1) }, false},
		{"expiry_nil", func(b *domain.Badge) { b.ExpiresInDays = nil }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := base
			o.Tags = slices.Clone(base.Tags)
			tc.edit(&o)
			if got := base.SameSignedFields(o); got != tc.want {
				t.Errorf("SameSignedFields = %v, want %v", got, tc.want)
			}
			if got := o.SameSignedFields(base); got != tc.want {
				t.Errorf("SameSignedFields is not symmetric")
			}
		})
	}
}

func TestBadgeEmptyTagsEqualNil(t *testing.T) {
	t.Parallel()
	a, b := newBadge(t, nil), newBadge(t, nil)
	a.Tags, b.Tags = nil, []string{}
	if !a.SameSignedFields(b) {
		t.Error("a badge without tags (nil) and one with an empty tag list sign differently")
	}
	b.Locked = true
	if err := b.Update(domain.BadgeInput{Tags: &[]string{}}, t0); err != nil && errors.Is(err, domain.ErrBadgeLocked) {
		t.Errorf("giving an empty tag list to a badge without tags is a change: %v", err)
	}
}
