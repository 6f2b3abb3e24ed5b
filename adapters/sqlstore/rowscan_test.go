package sqlstore

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/schema"
)

// Each column of a table read without bun is scanned into the field bun
// maps to the same column, and every column of the row type is read: a
// column added, dropped or paired with the wrong field fails here, not as
// a credential shown with its badge's slug for a name.
func TestColumnsMatchRowFields(t *testing.T) {
	checkColumns(t, "credentials", credentialFields)
	checkColumns(t, "organizations", orgFields)
	checkColumns(t, "badges", badgeFields)

	// The verification read: each table's columns under its alias, then
	// the active key and the status list's published version.
	var r verifiableRow
	parts := map[string]any{"c": &r.Cred, "o": &r.Org, "b": &r.Badge}
	seen := map[string]bool{}
	for _, c := range verifiableColumns[:len(verifiableColumns)-2] {
		alias, name, _ := strings.Cut(c.name, ".")
		part, ok := parts[alias]
		if !ok {
			t.Fatalf("column %s: no table aliased %q", c.name, alias)
		}
		if got := fieldAt(t, part, destPointer(c.dest(&r))); got != name {
			t.Errorf("column %s is scanned into the field of %s.%s", c.name, alias, got)
		}
		seen[c.name] = true
	}
	for alias, part := range parts {
		for _, name := range bunColumns(reflect.TypeOf(part).Elem()) {
			if !seen[alias+"."+name] {
				t.Errorf("verification read lacks column %s.%s", alias, name)
			}
		}
	}
	for i, want := range []any{&r.ActiveKey, &r.StatusVersion} {
		if c := verifiableColumns[len(verifiableColumns)-2+i]; destPointer(c.dest(&r)) != reflect.ValueOf(want).Pointer() {
			t.Errorf("column %s is not scanned into the field it should be", c.name)
		}
	}
}

func checkColumns[R any](t *testing.T, table string, cols []column[R]) {
	t.Helper()
	var r R
	seen := map[string]bool{}
	for _, c := range cols {
		if got := fieldAt(t, &r, destPointer(c.dest(&r))); got != c.name {
			t.Errorf("%s: column %s is scanned into the field of %s", table, c.name, got)
		}
		if seen[c.name] {
			t.Errorf("%s: column %s is read twice", table, c.name)
		}
		seen[c.name] = true
	}
	for _, name := range bunColumns(reflect.TypeFor[R]()) {
		if !seen[name] {
			t.Errorf("%s: column %s is not read", table, name)
		}
	}
}

// destPointer is the address a scan destination writes to.
func destPointer(dest any) uintptr { return reflect.ValueOf(dest).Field(0).Pointer() }

// fieldAt names the bun column of the field of *row at address p.
func fieldAt(t *testing.T, row any, p uintptr) string {
	t.Helper()
	v := reflect.ValueOf(row).Elem()
	for i := range v.NumField() {
		// bun.BaseModel takes no space: it shares its address with the first column.
		if !v.Type().Field(i).Anonymous && v.Field(i).Addr().Pointer() == p {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("bun"), ",")
			return name
		}
	}
	t.Fatalf("%T: no field at the destination", row)
	return ""
}

// bunColumns are the columns bun maps the fields of typ to.
func bunColumns(typ reflect.Type) []string {
	var out []string
	for f := range typ.Fields() {
		if f.Anonymous {
			continue // bun.BaseModel
		}
		name, _, _ := strings.Cut(f.Tag.Get("bun"), ",")
		out = append(out, name)
	}
	return out
}

// The destinations convert every value a driver may return as bun does:
// the same value or the same error.
func TestDestinationsScanAsBun(t *testing.T) {
	at := time.Date(2026, 12, 2, 14, 54, 35, 123456000, time.FixedZone("", 3600))
	srcs := []any{nil, "", "text", []byte("bytes"), "true", "0", []byte("1"), "nope", int64(0), int64(7), uint64(3),
		float64(1.5), true, false, at, at.UTC(),
		"2026-12-02 14:54:35.123456+01:00", "2026-12-02 14:54:35.123456+01", "2026-12-02 14:54:35",
		"2026-12-02T14:54:35.123456Z", []byte("2026-12-02 14:54:35.123456+00:00"), "14:54:35", "2026-12-02"}

	compare := func(t *testing.T, name string, ours func(any) (any, error), typ reflect.Type) {
		bun := schema.Scanner(typ)
		for _, src := range srcs {
			got, gotErr := ours(src)
			want := reflect.New(typ)
			wantErr := bun(want.Elem(), src)
			if (gotErr != nil) != (wantErr != nil) {
				t.Errorf("%s from %T %v: error %v, bun's %v", name, src, src, gotErr, wantErr)
				continue
			}
			if wantErr == nil && !reflect.DeepEqual(got, want.Elem().Interface()) {
				t.Errorf("%s from %T %v: %#v, bun's %#v", name, src, src, got, want.Elem().Interface())
			}
		}
	}
	compare(t, "string", func(src any) (any, error) {
		var v string
		err := stringDest{&v}.Scan(src)
		return v, err
	}, reflect.TypeFor[string]())
	compare(t, "bool", func(src any) (any, error) {
		var v bool
		err := boolDest{&v}.Scan(src)
		return v, err
	}, reflect.TypeFor[bool]())
	compare(t, "time", func(src any) (any, error) {
		var v time.Time
		err := timeDest{&v}.Scan(src)
		return v, err
	}, reflect.TypeFor[time.Time]())
	compare(t, "*time", func(src any) (any, error) {
		var v *time.Time
		err := timePtrDest{&v}.Scan(src)
		return v, err
	}, reflect.TypeFor[*time.Time]())
	compare(t, "*int", func(src any) (any, error) {
		var v *int
		err := intPtrDest{&v}.Scan(src)
		return v, err
	}, reflect.TypeFor[*int]())

	// A row scanned again never writes through the pointers of the
	// previous scan (rows are reused as scratch space).
	first := time.Unix(1, 0)
	prev := &first
	p := prev
	if err := (timePtrDest{&p}).Scan("2026-12-02 14:54:35"); err != nil {
		t.Fatal(err)
	}
	if p == prev || !first.Equal(time.Unix(1, 0)) {
		t.Errorf("scanning wrote through the previous pointer: %v", first)
	}
}
