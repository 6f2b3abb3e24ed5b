package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/credence-dev/credence/core/domain"
)

// maxScannedJSON bounds the JSON bodies refuseControls reads: huma's
// default body limit, which no JSON operation raises. A larger body is
// passed on unread, for the operation to refuse (413).
const maxScannedJSON = 1 << 20

// maxEchoedValue bounds the refused values a problem repeats.
const maxEchoedValue = 256

// maxJSONDepth is encoding/json's nesting limit: deeper documents are not
// JSON to the API's decoder either.
const maxJSONDepth = 10000

// refuseControls answers 422 VALIDATION_FAILED, naming each input
// (query.email, path.orgId, body.recipient.email), before any handler
// runs, when
//   - a query parameter's name or value, or a path segment (decoded),
//     holds a C0 control, DEL, a C1 control or invalid UTF-8;
//   - a JSON body (application/json, any +json type, or no Content-Type)
//     holds, in a key or a string at any depth, a C0 control other than
//     tab, LF and CR, DEL or a C1 control.
//
// No input of the API has a use for them; PostgreSQL refuses NUL in text
// (and SQLite's queries broke on it), pages and logs would carry them. One
// check here covers every route, the API's operations, the documents and
// the pages, and those added later; the core refuses the same where input
// reaches a query (domain.ControlFree), for Go programs that embed it.
// JSON that does not parse is left to the operation, which refuses it
// with its own answer, and so is a body larger than maxScannedJSON. The
// VC-API's bodies are not scanned (vcapiPaths): they store nothing and
// answer every request they cannot read in the VC-API's own shape.
func refuseControls(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad := append(pathControls(mux, r), queryControls(r)...)
		if len(bad) == 0 && isJSONBody(r) && !vcapiPaths[r.URL.Path] {
			var f FieldProblem
			var found bool
			r, f, found = bodyControl(r)
			if found {
				bad = append(bad, f)
			}
		}
		if len(bad) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		writeProblem(w, &Problem{Status: http.StatusUnprocessableEntity, Code: string(domain.CodeValidation),
			Detail: "validation failed", Errors: bad})
	})
}

// pathControls returns the path segments holding what ControlFree
// refuses, named after the route's wildcards (path.orgId) when a route
// matches.
func pathControls(mux *http.ServeMux, r *http.Request) []FieldProblem {
	segments := strings.Split(r.URL.EscapedPath(), "/")
	var bad []FieldProblem
	var names []string
	for i, seg := range segments {
		value, err := url.PathUnescape(seg)
		if err != nil || domain.ControlFree(value, false) {
			continue
		}
		if names == nil {
			names = wildcardNames(mux, r, len(segments))
		}
		bad = append(bad, FieldProblem{Location: names[i], Message: names[i] + " must be text without control characters or invalid UTF-8",
			Value: echo(value)})
	}
	return bad
}

// wildcardNames names the n segments of r's path after the wildcards of
// the route mux picks ("path.orgId"); other segments are "path".
func wildcardNames(mux *http.ServeMux, r *http.Request, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "path"
	}
	_, pattern := mux.Handler(r)
	if _, p, ok := strings.Cut(pattern, " "); ok { // "GET /api/v1/orgs/{orgId}"
		pattern = p
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 { // a host before the path
		pattern = pattern[i:]
	}
	for i, seg := range strings.Split(pattern, "/") {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok || i >= n {
			continue
		}
		name = strings.TrimSuffix(name, "}")
		if rest, many := strings.CutSuffix(name, "..."); many { // {name...} takes the remaining segments
			for j := i; j < n; j++ {
				names[j] = "path." + rest
			}
			break
		}
		if name != "$" {
			names[i] = "path." + name
		}
	}
	return names
}

// queryControls returns the query parameters whose name or value holds
// what ControlFree refuses.
func queryControls(r *http.Request) []FieldProblem {
	if r.URL.RawQuery == "" {
		return nil
	}
	values, _ := url.ParseQuery(r.URL.RawQuery) // pairs that do not parse are the operation's to refuse
	var bad []FieldProblem
	for _, name := range slices.Sorted(maps.Keys(values)) {
		if !domain.ControlFree(name, false) {
			bad = append(bad, FieldProblem{Location: "query", Message: "a query parameter's name must be text without control characters or invalid UTF-8",
				Value: echo(name)})
			continue
		}
		for _, v := range values[name] {
			if !domain.ControlFree(v, false) {
				bad = append(bad, FieldProblem{Location: "query." + name, Message: name + " must be text without control characters or invalid UTF-8",
					Value: echo(v)})
				break
			}
		}
	}
	return bad
}

// isJSONBody reports whether r has a body the API decodes as JSON: huma
// takes application/json, any +json type, and a body without a
// Content-Type.
func isJSONBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// bodyControl reads r's JSON body (up to maxScannedJSON) and returns the
// request to pass on, its body put back, with the first string of the
// body holding a refused character. The request passed on is a copy: the
// server keeps reading the original's body after the handler, to tell
// whether the connection can serve another request.
func bodyControl(r *http.Request) (*http.Request, FieldProblem, bool) {
	if r.ContentLength > maxScannedJSON {
		return r, FieldProblem{}, false // the operation refuses it unread
	}
	orig := r.Body
	data, err := io.ReadAll(io.LimitReader(orig, maxScannedJSON+1))
	rest := io.Reader(orig)
	if err != nil {
		rest = failingReader{err} // the handler meets the same error
	}
	r = r.WithContext(r.Context())
	r.Body = readCloser{io.MultiReader(bytes.NewReader(data), rest), orig}
	if err != nil || len(data) > maxScannedJSON {
		return r, FieldProblem{}, false
	}
	c, found := findJSONControl(data)
	if !found {
		return r, FieldProblem{}, false
	}
	name := c.Location[strings.LastIndexAny(c.Location, ".[")+1:]
	return r, FieldProblem{Location: c.Location, Message: strings.TrimSuffix(name, "]") +
		" must be text without control characters (tab and line breaks aside)", Value: echo(c.Value)}, true
}

type readCloser struct {
	io.Reader
	io.Closer
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// echo is a refused value as a problem repeats it: short ones only.
func echo(v string) any {
	if len(v) > maxEchoedValue {
		return nil
	}
	return v
}

// jsonControl is a string of a JSON document holding a refused character.
type jsonControl struct {
	Location string // "body.recipient.email", "body.tags[2]", `body["ke\x00y"]`
	Value    string // the string, decoded (a refused key is its own value)
}

// findJSONControl returns the first key or string value, in document
// order, of the JSON document data that holds a C0 control other than
// tab, LF and CR, DEL or a C1 control. A document that is not one
// well-formed JSON value (or nests deeper than encoding/json accepts) has
// none: the API's decoding refuses it with its own answer. The document
// is read token by token: no value is built.
func findJSONControl(data []byte) (jsonControl, bool) {
	if !mayHoldControl(data) {
		return jsonControl{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a number too large for float64 is still JSON
	type frame struct {
		object  bool
		wantKey bool   // object: the next string is a key
		key     string // object: the member being read
		index   int    // array: the element being read
	}
	var stack []frame
	var first *jsonControl
	path := func() string {
		var b strings.Builder
		b.WriteString("body")
		for _, f := range stack {
			switch {
			case f.object && domain.ControlFree(f.key, false) && !strings.ContainsAny(f.key, `.[]"`) && f.key != "":
				b.WriteString("." + f.key)
			case f.object:
				b.WriteString("[" + strconv.Quote(f.key) + "]")
			default:
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			}
		}
		return b.String()
	}
	// valueDone moves the enclosing container past the value just read.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if top := &stack[n-1]; top.object {
				top.wantKey = true
			} else {
				top.index++
			}
		}
	}
	for started := false; ; started = true {
		if started && len(stack) == 0 {
			// One value read: only the end of the document may follow.
			if _, err := dec.Token(); err != io.EOF {
				return jsonControl{}, false
			}
			break
		}
		tok, err := dec.Token()
		if err != nil {
			return jsonControl{}, false // not JSON, or cut short
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == maxJSONDepth {
					return jsonControl{}, false
				}
				stack = append(stack, frame{object: t == '{', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				top := &stack[n-1]
				top.key, top.wantKey = t, false
				if first == nil && !domain.ControlFree(t, true) {
					first = &jsonControl{Location: path(), Value: t}
				}
				continue
			}
			if first == nil && !domain.ControlFree(t, true) {
				first = &jsonControl{Location: path(), Value: t}
			}
			valueDone()
		default:
			valueDone()
		}
	}
	if first == nil {
		return jsonControl{}, false
	}
	return *first, true
}

// mayHoldControl reports whether a string of the JSON text data may hold
// a refused character, so that most bodies are not tokenized: in
// well-formed JSON a C0 control gets into a string only through an escape
// (\u…, \b or \f; a raw one is malformed), while DEL and C1 controls
// may also be written raw.
func mayHoldControl(data []byte) bool {
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '\\' && i+1 < len(data):
			if e := data[i+1]; e == 'u' || e == 'b' || e == 'f' {
				return true
			}
		case c == 0x7f:
			return true
		case c == 0xc2 && i+1 < len(data) && data[i+1] >= 0x80 && data[i+1] <= 0x9f: // U+0080 to U+009F
			return true
		}
	}
	return false
}
