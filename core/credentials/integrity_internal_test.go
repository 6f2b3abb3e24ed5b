package credentials

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// A verification reuses the kept integrity comparison only for a record
// that compares the same: whatever field of the credential, its
// organization or its badge changes, the kept verification answers as a
// fresh comparison does, and so again when the field changes back.
func TestIntegrityMemoIsExact(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://credence.example")
	s := &Service{urls: URLs{Base: base}}
	issued := time.Date(2026, 12, 2, 14, 54, 35, 0, time.UTC)
	expires := issued.AddDate(1, 0, 0)
	c := domain.Credential{ID: "CRD-P6PW4W9E", OrgID: "org-1", BadgeID: "badge-1", RecipientName: "Ada Lovelace",
		RecipientEmail: "ada@example.com", IssuedAt: issued, ExpiresAt: &expires, Public: true, KeyID: "kid", JWS: "a.b.c", CreatedBy: "u",
		Slot: &domain.StatusSlot{List: "list-1", Index: 42}}
	org := domain.Organization{ID: "org-1", Name: "Academy", Slug: "academy", WebsiteURL: "https://academy.example",
		Description: "Teaches", Status: domain.OrgApproved, Plan: domain.PlanProfessional, CreatedAt: issued, UpdatedAt: issued}
	badge := domain.Badge{ID: "badge-1", OrgID: "org-1", Name: "Cloud Architect", Slug: "cloud-architect", Description: "Designs clouds",
		Criteria: "Passed the exam", ImageURL: "https://academy.example/b.png", Tags: []string{"cloud"}, Active: true, Locked: true,
		CreatedAt: issued, UpdatedAt: issued}

	// Documents signed for the record and for records that differ from it
	// in flags that change how other fields compare.
	asTest, noExpiry := c, c
	asTest.Test, noExpiry.ExpiresAt = true, nil
	docs := map[string]Document{
		"matching": s.urls.buildDocument(c, org, badge, "salt"),
		"test":     s.urls.buildDocument(asTest, org, badge, "salt"),
		"expiring": s.urls.buildDocument(noExpiry, org, badge, "salt"),
	}
	for name, doc := range docs {
		for _, m := range mutations(t, c, org, badge) {
			v := &verified{doc: doc}
			check := func(step string, c domain.Credential, org domain.Organization, badge domain.Badge) {
				t.Helper()
				want := s.urls.Mismatches(doc, c, org, badge)
				if got := s.mismatches(v, c, org, badge); !reflect.DeepEqual(got, want) {
					t.Errorf("document %s, %s %s: kept comparison %q, fresh %q", name, m.field, step, got, want)
				}
			}
			check("before", c, org, badge)
			check("changed", m.c, m.org, m.badge)
			check("changed back", c, org, badge)
		}
	}
}

type mutation struct {
	field string
	c     domain.Credential
	org   domain.Organization
	badge domain.Badge
}

// mutations returns the record with each field of each of its three
// parts changed in turn (a pointer also set to nil).
func mutations(t *testing.T, c domain.Credential, org domain.Organization, badge domain.Badge) []mutation {
	var out []mutation
	each := func(part string, v any, set func(m *mutation, changed reflect.Value)) {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			for _, changed := range changes(t, part+"."+rv.Type().Field(i).Name, rv.Field(i)) {
				cp := reflect.New(rv.Type()).Elem()
				cp.Set(rv)
				cp.Field(i).Set(changed)
				m := mutation{field: part + "." + rv.Type().Field(i).Name, c: c, org: org, badge: badge}
				set(&m, cp)
				out = append(out, m)
			}
		}
	}
	each("credential", c, func(m *mutation, v reflect.Value) { m.c = v.Interface().(domain.Credential) })
	each("org", org, func(m *mutation, v reflect.Value) { m.org = v.Interface().(domain.Organization) })
	each("badge", badge, func(m *mutation, v reflect.Value) { m.badge = v.Interface().(domain.Badge) })
	return out
}

// changes returns values of f's type that differ from f.
func changes(t *testing.T, name string, f reflect.Value) []reflect.Value {
	other := reflect.New(f.Type()).Elem()
	switch v := f.Interface().(type) {
	case time.Time:
		other.Set(reflect.ValueOf(v.Add(time.Hour)))
	case *time.Time:
		later := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		if v != nil {
			later = v.Add(time.Hour)
		}
		other.Set(reflect.ValueOf(&later))
		return []reflect.Value{other, reflect.Zero(f.Type())}
	case []string:
		other.Set(reflect.ValueOf(append(append([]string(nil), v...), "more")))
		out := []reflect.Value{other, reflect.Zero(f.Type())}
		if len(v) > 0 {
			renamed := append([]string(nil), v...)
			renamed[0] += "-changed"
			out = append(out, reflect.ValueOf(renamed))
		}
		return out
	case *int:
		n := 7
		other.Set(reflect.ValueOf(&n))
		return []reflect.Value{other, reflect.Zero(f.Type())}
	case *domain.StatusSlot:
		out := []reflect.Value{reflect.ValueOf(&domain.StatusSlot{List: "another-list", Index: 1})}
		if v != nil {
			out = append(out, reflect.ValueOf(&domain.StatusSlot{List: v.List, Index: v.Index + 1}), reflect.Zero(f.Type()))
		}
		return out
	default:
		switch f.Kind() {
		case reflect.String:
			other.SetString(f.String() + "-changed")
		case reflect.Bool:
			other.SetBool(!f.Bool())
		default:
			t.Fatalf("%s: no change for a %s; add one", name, f.Type())
		}
	}
	return []reflect.Value{other}
}
