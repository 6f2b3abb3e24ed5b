package vcapi_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/vcapi"
)

func TestParseDataURL(t *testing.T) {
	t.Parallel()
	const jws = "eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln"
	for in, want := range map[string]vcapi.DataURL{
		"data:application/vc+jwt," + jws:                       {MediaType: "application/vc+jwt", Data: []byte(jws)},
		"DATA:Application/VC+JWT," + jws:                       {MediaType: "application/vc+jwt", Data: []byte(jws)},
		"data:application/vc+jwt;charset=utf-8," + jws:         {MediaType: "application/vc+jwt", Data: []byte(jws)},
		"data:application/vc+jwt;" + jws:                       {MediaType: "application/vc+jwt", Data: []byte(jws)},
		"data:application/vc+jwt;a=b;" + jws:                   {MediaType: "application/vc+jwt", Data: []byte(jws)},
		"data:application/jwt,a%2Eb%2ec":                       {MediaType: "application/jwt", Data: []byte("a.b.c")},
		"data:text/plain;base64,aGVsbG8=":                      {MediaType: "text/plain", Data: []byte("hello")},
		"data:text/plain;BASE64,aGVsbG8=":                      {MediaType: "text/plain", Data: []byte("hello")},
		"data:application/vc+jwt;base64," + b64std(jws):        {MediaType: "application/vc+jwt", Data: []byte(jws)},
		"data:application/vc+jwt," + jws + ",more":             {MediaType: "application/vc+jwt", Data: []byte(jws + ",more")},
		"data:application/vc+jwt;x=1;base64," + b64std("a,b;"): {MediaType: "application/vc+jwt", Data: []byte("a,b;")},
	} {
		got, err := vcapi.ParseDataURL(in)
		if err != nil || got.MediaType != want.MediaType || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%q: %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{
		"",
		jws,
		"data:",
		"data:,",
		"data:," + jws,                           // no media type
		"data:application," + jws,                // no subtype
		"data:application/," + jws,               // empty subtype
		"data:appli cation/jwt," + jws,           // not a token
		"data:application/vc+jwt",                // no data
		"data:application/vc+jwt,",               // empty data
		"data:application/vc+jwt;",               // empty data, ;-form
		"data:application/vc+jwt;a=b",            // ;-form whose data is a parameter
		"data:application/vc+jwt;charset," + jws, // a parameter without a value
		"data:application/vc+jwt;base64;a=b," + b64std(jws), // base64 not last
		"data:application/vc+jwt;base64," + jws,             // not base64
		"data:application/vc+jwt;base64,aGVsbG8",            // unpadded
		"data:application/vc+jwt," + jws + "%",              // broken escape
		"data:application/vc+jwt," + jws + "%G0",            // broken escape
		"https://example.com/" + jws,                        // another scheme
		" data:application/vc+jwt," + jws,                   // white space
		"data:application/vc+jwt," + strings.Repeat("a", 3*64<<10+256),
	} {
		if got, err := vcapi.ParseDataURL(in); err == nil {
			t.Errorf("%.80q: read as %+v", in, got)
		}
	}
}

func b64std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// FuzzParseDataURL: no input panics; what is read has a lower-case
// type/subtype and some data, and the same URL written canonically
// (base64) reads the same.
func FuzzParseDataURL(f *testing.F) {
	const jws = "eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln"
	for _, seed := range []string{
		"data:application/vc+jwt," + jws,
		"data:application/vc+jwt;" + jws,
		"data:application/vc+jwt;charset=utf-8;base64," + b64std(jws),
		"DATA:Application/JWT,%41%2e%42",
		"data:,x",
		"data:a/b;c=d;e",
		"data:a/b;base64,====",
		"data:a/b,%",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		u, err := vcapi.ParseDataURL(in)
		if err != nil {
			return
		}
		typ, sub, ok := strings.Cut(u.MediaType, "/")
		if !ok || typ == "" || sub == "" || u.MediaType != strings.ToLower(u.MediaType) || len(u.Data) == 0 {
			t.Fatalf("%q read as %+v", in, u)
		}
		again, err := vcapi.ParseDataURL("data:" + u.MediaType + ";base64," + base64.StdEncoding.EncodeToString(u.Data))
		if err != nil || again.MediaType != u.MediaType || !bytes.Equal(again.Data, u.Data) {
			t.Fatalf("%q read as %+v, its canonical form as %+v (%v)", in, u, again, err)
		}
	})
}
