package sqlstore

import (
	"database/sql"
	"reflect"
	"time"

	"github.com/uptrace/bun/schema"
)

// column is one column of a row type R read without bun's reflection:
// its name and where in a row it is scanned. A statement's SELECT list
// and its scan destinations are built from the same []column, so they
// cannot fall out of step; TestColumnsMatchRowFields checks that each
// column is scanned into the field that bun maps to it.
type column[R any] struct {
	name string
	dest func(*R) any
}

// columnNames returns the names of cols, in order.
func columnNames[R any](cols []column[R]) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.name
	}
	return out
}

// embedded returns cols as columns of an outer row O holding R at field,
// each named alias.name.
func embedded[O, R any](alias string, cols []column[R], field func(*O) *R) []column[O] {
	out := make([]column[O], len(cols))
	for i, c := range cols {
		dest := c.dest
		out[i] = column[O]{name: alias + "." + c.name, dest: func(o *O) any { return dest(field(o)) }}
	}
	return out
}

// scanColumns scans the current row of rows into r, whose columns are
// cols in the order of the statement's SELECT list; dests is scratch
// space of len(cols), reused across rows.
func scanColumns[R any](rows *sql.Rows, cols []column[R], r *R, dests []any) error {
	for i, c := range cols {
		dests[i] = c.dest(r)
	}
	return rows.Scan(dests...)
}

// The destinations below convert what the drivers return exactly as bun
// scans into the same Go types: the common cases (what pgdriver and
// modernc return for these column types) directly, anything else through
// bun's own scanner for the type. Each is a single pointer, so storing it
// in an interface does not allocate.

var (
	bunScanString  = schema.Scanner(reflect.TypeFor[string]())
	bunScanBool    = schema.Scanner(reflect.TypeFor[bool]())
	bunScanTime    = schema.Scanner(reflect.TypeFor[time.Time]())
	bunScanInt     = schema.Scanner(reflect.TypeFor[int]())
	bunScanInt64   = schema.Scanner(reflect.TypeFor[int64]())
	bunScanIntPtr  = schema.Scanner(reflect.TypeFor[*int]())
	bunScanTimePtr = schema.Scanner(reflect.TypeFor[*time.Time]())
)

// stringDest scans text; NULL is "" (bun's nullzero).
type stringDest struct{ p *string }

func (d stringDest) Scan(src any) error {
	switch v := src.(type) {
	case string:
		*d.p = v
	case []byte:
		*d.p = string(v) // the driver owns v: copy it
	case nil:
		*d.p = ""
	default:
		return bunScanString(reflect.ValueOf(d.p).Elem(), src)
	}
	return nil
}

// boolDest scans a boolean: PostgreSQL's bool, SQLite's integer.
type boolDest struct{ p *bool }

func (d boolDest) Scan(src any) error {
	switch v := src.(type) {
	case bool:
		*d.p = v
	case int64:
		*d.p = v != 0
	default:
		return bunScanBool(reflect.ValueOf(d.p).Elem(), src)
	}
	return nil
}

// timeDest scans a timestamp: a time.Time from pgdriver, and from
// modernc when it recognizes the stored text; text is parsed as bun does.
type timeDest struct{ p *time.Time }

func (d timeDest) Scan(src any) error {
	if v, ok := src.(time.Time); ok {
		*d.p = v
		return nil
	}
	return bunScanTime(reflect.ValueOf(d.p).Elem(), src)
}

// timePtrDest scans a nullable timestamp; NULL is nil.
type timePtrDest struct{ p **time.Time }

func (d timePtrDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = nil
	case time.Time:
		*d.p = &v
	default:
		*d.p = nil
		return bunScanTimePtr(reflect.ValueOf(d.p).Elem(), src)
	}
	return nil
}

// intDest scans an integer.
type intDest struct{ p *int }

func (d intDest) Scan(src any) error {
	if v, ok := src.(int64); ok {
		*d.p = int(v)
		return nil
	}
	return bunScanInt(reflect.ValueOf(d.p).Elem(), src)
}

// int64Dest scans a 64-bit integer.
type int64Dest struct{ p *int64 }

func (d int64Dest) Scan(src any) error {
	if v, ok := src.(int64); ok {
		*d.p = v
		return nil
	}
	return bunScanInt64(reflect.ValueOf(d.p).Elem(), src)
}

// intPtrDest scans a nullable integer; NULL is nil.
type intPtrDest struct{ p **int }

func (d intPtrDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.p = nil
	case int64:
		n := int(v)
		*d.p = &n
	default:
		*d.p = nil
		return bunScanIntPtr(reflect.ValueOf(d.p).Elem(), src)
	}
	return nil
}
