package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

// refusedStrings returns, in document order, the keys and string values
// of the well-formed JSON document data holding a refused character. It
// finds them differently from findJSONControl: every string literal of
// the text (in well-formed JSON no '"' stands outside one) decoded alone.
func refusedStrings(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	for i := 0; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		j := i + 1
		for ; data[j] != '"'; j++ {
			if data[j] == '\\' {
				j++
			}
		}
		var s string
		if err := json.Unmarshal(data[i:j+1], &s); err != nil {
			t.Fatalf("literal %q of a valid document: %v", data[i:j+1], err)
		}
		if !domain.ControlFree(s, true) {
			out = append(out, s)
		}
		i = j
	}
	return out
}

// FuzzFindJSONControl: findJSONControl never panics; on a document that is
// not JSON it finds nothing; on JSON it finds the first string (key or
// value) holding a refused character, exactly when there is one, at a
// location under "body".
func FuzzFindJSONControl(f *testing.F) {
	for _, s := range []string{
		`{"email":"a\u0000@example.com","password":"x"}`,
		`{"recipient":{"name":"Bea","email":"b\u0001@example.com"},"badgeId":"x"}`,
		`{"tags":["go","ba\u007fd"],"name":"n"}`,
		`{"a\u0085b":1}`,
		`["\u0080",{"k":"\u009f"}]`,
		`"\u001f"`,
		`{"text":"line one\nline two\ttabbed\r\n"}`,
		`{"bell":"\b","feed":"\f"}`,
		`{"escaped":"\\u0000 \\b \/"}`,
		`{"ok":"Zoë 日本 \ufffd \ud83c\udf93 \u00a0"}`,
		`{"lone":"\ud800"}`,
		"{\"raw\":\"\xff\"}",
		`{"a":"\u0000"} {"b":1}`,
		`{"a":"\u0000"`,
		`{"a":"\u0000",}`,
		`[1e999999,"\u0000"]`,
		`{"a.b":{"[c]":"\u0000"}}`,
		`{"":{"":"\u0000"}}`,
		`{"dup":"\u0000","dup":"fine"}`,
		`  [ [ [ "\u0000" ] ] ]  `,
		`null`,
		``,
		"{\"a\":\"\x00\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, found := findJSONControl(data)
		if !json.Valid(data) {
			if found {
				t.Fatalf("found %+v in a document that is not JSON", got)
			}
			return
		}
		want := refusedStrings(t, data)
		if found != (len(want) > 0) {
			t.Fatalf("found = %v (%+v), but the document's refused strings are %q", found, got, want)
		}
		if !found {
			return
		}
		if got.Value != want[0] {
			t.Fatalf("found %q, want the first refused string %q", got.Value, want[0])
		}
		if !strings.HasPrefix(got.Location, "body") || !domain.ControlFree(got.Location, false) {
			t.Fatalf("location %q is not a readable body location", got.Location)
		}
	})
}

// A document nested as deep as encoding/json accepts is read; one level
// deeper it is not JSON to the API, and is left to its decoder.
func TestFindJSONControlDepth(t *testing.T) {
	nested := func(depth int) []byte {
		return append(append(bytes.Repeat([]byte("["), depth), `"\u0000"`...), bytes.Repeat([]byte("]"), depth)...)
	}
	if got, found := findJSONControl(nested(maxJSONDepth)); !found || !strings.HasSuffix(got.Location, "[0][0]") {
		t.Errorf("depth %d: got %q (found %v)", maxJSONDepth, got.Location, found)
	}
	if !json.Valid(nested(maxJSONDepth)) || json.Valid(nested(maxJSONDepth+1)) {
		t.Fatalf("encoding/json's depth limit is no longer %d", maxJSONDepth)
	}
	if got, found := findJSONControl(nested(maxJSONDepth + 1)); found {
		t.Errorf("depth %d: found %q in what encoding/json refuses", maxJSONDepth+1, got.Location)
	}
}

// The locations name each input the way huma's own problems do.
func TestFindJSONControlLocations(t *testing.T) {
	for doc, want := range map[string]string{
		`"\u0000"`:                                       `body`,
		`{"email":"a\u0000"}`:                            `body.email`,
		`{"recipient":{"email":"\u0085"}}`:               `body.recipient.email`,
		`{"tags":["a","\u007f"]}`:                        `body.tags[1]`,
		`[{"x":1},{"y":[0,{"z":"\u0001"}]}]`:             `body[1].y[1].z`,
		`{"na\u0000me":"x"}`:                             `body["na\x00me"]`,
		`{"a.b":"\u0000"}`:                               `body["a.b"]`,
		`{"ok":"tab\tand\nlines","bad":"\u0002"}`:        `body.bad`,
		`{"first":"\u0003","second":"\u0004"}`:           `body.first`,
		`{"n":1,"o":{"p":null,"q":[true]},"r":"\u0000"}`: `body.r`,
	} {
		got, found := findJSONControl([]byte(doc))
		if !found || got.Location != want {
			t.Errorf("%s: got %q (found %v), want %q", doc, got.Location, found, want)
		}
	}
}

// refuseControls refuses control characters in the path, the query and a
// JSON body before the handler runs, and otherwise passes the request on
// with its body intact.
func TestRefuseControls(t *testing.T) {
	mux := http.NewServeMux()
	var seen []byte
	mux.HandleFunc("/api/things/{thingId}/parts/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		seen, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	h := refuseControls(mux, mux)
	big := `{"pad":"` + strings.Repeat("x", maxScannedJSON) + `","bad":"\u0000"}`
	for _, tc := range []struct {
		name, target, contentType, body string
		want                            []string // refused locations; none: passed on
	}{
		{"clean", "/api/things/1/parts/a?q=Zo%C3%AB", "application/json", `{"note":"two\nlines\tok"}`, nil},
		{"query NUL", "/api/things/1/parts/a?email=a%00b", "", "", []string{"query.email"}},
		{"query invalid UTF-8", "/api/things/1/parts/a?cursor=%ff", "", "", []string{"query.cursor"}},
		{"query C1", "/api/things/1/parts/a?action=%C2%85", "", "", []string{"query.action"}},
		{"query tab", "/api/things/1/parts/a?actor=a%09b", "", "", []string{"query.actor"}},
		{"query name", "/api/things/1/parts/a?a%01=1", "", "", []string{"query"}},
		{"query DEL and path", "/api/things/x%7F/parts/a?target=%7f", "", "", []string{"path.thingId", "query.target"}},
		{"path rest", "/api/things/1/parts/a/b%00", "", "", []string{"path.rest"}},
		{"path unrouted", "/nowhere/%01", "", "", []string{"path"}},
		{"body nested", "/api/things/1/parts/a", "application/json", `{"recipient":{"email":"x\u0000@example.com"}}`, []string{"body.recipient.email"}},
		{"body merge patch", "/api/things/1/parts/a", "application/merge-patch+json", `{"name":"\u0085"}`, []string{"body.name"}},
		{"body without type", "/api/things/1/parts/a", "", `{"name":"\u007f"}`, []string{"body.name"}},
		{"body not JSON", "/api/things/1/parts/a", "application/json", `{"name":"\u0000"`, nil},
		{"body form", "/api/things/1/parts/a", "application/x-www-form-urlencoded", `name=%00`, nil},
		{"body too large to read", "/api/things/1/parts/a", "application/json", big, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			req := httptest.NewRequest(http.MethodPost, tc.target, strings.NewReader(tc.body))
			if tc.body == "" {
				req = httptest.NewRequest(http.MethodGet, tc.target, nil)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.want == nil {
				if rec.Code != http.StatusNoContent {
					t.Fatalf("refused: %d %s", rec.Code, rec.Body)
				}
				if string(seen) != tc.body {
					t.Fatalf("the handler read %d bytes of the %d-byte body", len(seen), len(tc.body))
				}
				return
			}
			if rec.Code != http.StatusUnprocessableEntity || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("got %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != string(domain.CodeValidation) {
				t.Fatalf("problem %s: %v", rec.Body, err)
			}
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Location)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("locations %q, want %q (%s)", got, tc.want, rec.Body)
			}
			if seen != nil {
				t.Error("the handler ran")
			}
		})
	}
}

// A body too large for the handler, which refuses it half read, leaves
// the connection to the server's judgement: the request after it on the
// same connection is read as a request (not as the rest of the body).
func TestRefuseControlsKeepsConnectionsSound(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// As huma reads a body: up to its limit, then closed.
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, maxScannedJSON))
		_ = r.Body.Close()
		if n == maxScannedJSON {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(refuseControls(mux, mux))
	defer srv.Close()
	big := `{"pad":"` + strings.Repeat("x", 2*maxScannedJSON) + `"}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // no length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked %v: %d for a body over the limit", chunked, res.StatusCode)
		}
		res, err = srv.Client().Post(srv.URL, "application/json", strings.NewReader(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Errorf("chunked %v: the next request got %d", chunked, res.StatusCode)
		}
	}
}
