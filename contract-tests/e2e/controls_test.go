package e2e

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// queryControls are sent, percent-encoded, in query parameters and path
// segments: NUL, SOH, DEL, NEL (a C1 control) and a byte that is not UTF-8.
var queryControls = []string{"%00", "%01", "%7F", "%C2%85", "%FF"}

// bodyControls are put in JSON strings (json.Marshal escapes the C0 ones).
var bodyControls = []string{"\x00", "\x01", "\x7f", "\u0085"}

// bodyOperations are the operations whose every string field gets a
// control character: the public and account ones, and a few of an
// organization's.
var bodyOperations = []string{"sign-up", "login", "request-password-reset", "confirm-password-reset", "verify-email",
	"resend-verification", "verify-mfa", "set-my-mfa", "verify-presented", "create-org", "create-badge", "issue-credential"}

// testControlCharacters walks the live OpenAPI document: a control
// character or invalid UTF-8 in every string query parameter of every GET
// operation, in a few path segments, and in every string field of the
// bodies of bodyOperations is answered 422 VALIDATION_FAILED naming the
// input, never a 5xx (PostgreSQL refuses NUL in text).
func testControlCharacters(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	oc := e.as(t, owner.Token)
	b := createBadge(oc, o.ID, 0)
	cr := issue(oc, o.ID, b.ID, "Cleo Control", uniqueEmail("ctl"))
	var doc openAPIDoc
	e.anon(t).expect(http.StatusOK, http.MethodGet, "/openapi.json", nil, &doc)
	unknown := "0d7f4b8e-3c1a-4f6e-9b2d-5a8c7e1f0a93"
	fill := strings.NewReplacer("{orgId}", o.ID, "{badgeId}", b.ID, "{credentialId}", cr.ID, "{jobId}", unknown,
		"{keyId}", unknown, "{userId}", unknown, "{invitationId}", unknown, "{sessionId}", unknown)
	clientFor := func(path string) *client {
		if strings.HasPrefix(path, "/api/v1/admin/") {
			return e.admin(t)
		}
		return oc
	}
	// refused requires 422 VALIDATION_FAILED with an error at location
	// (and goes on after a failure, to show every input that fails).
	refused := func(t *testing.T, c *client, method, path string, body any, location string) {
		t.Helper()
		r := c.do(method, path, body)
		var p problem
		if r.Status != http.StatusUnprocessableEntity || json.Unmarshal(r.Body, &p) != nil || p.Code != "VALIDATION_FAILED" {
			t.Errorf("want 422 VALIDATION_FAILED at %s: %s", location, r)
			return
		}
		for _, f := range p.Errors {
			if f.Location == location {
				return
			}
		}
		t.Errorf("no error at %s: %s", location, r)
	}

	t.Run("query", func(t *testing.T) {
		probes := 0
		for _, path := range slices.Sorted(maps.Keys(doc.Paths)) {
			op := doc.Paths[path]["get"]
			if op == nil {
				continue
			}
			for _, p := range op.Parameters {
				if p.In != "query" || !doc.resolve(p.Schema).is("string") {
					continue
				}
				for _, ctl := range queryControls {
					refused(t, clientFor(path), http.MethodGet, fill.Replace(path)+"?"+p.Name+"=a"+ctl+"b", nil, "query."+p.Name)
					probes++
				}
			}
		}
		if probes < 100 {
			t.Errorf("only %d probes: the walk of the OpenAPI document missed query parameters", probes)
		}
		refused(t, e.anon(t), http.MethodGet, "/verify?id=CRD-%00", nil, "query.id")
	})

	t.Run("path", func(t *testing.T) {
		for _, ctl := range queryControls {
			refused(t, oc, http.MethodGet, "/api/v1/orgs/"+ctl, nil, "path.orgId")
			refused(t, oc, http.MethodGet, "/api/v1/orgs/"+o.ID+"/badges/x"+ctl, nil, "path.badgeId")
			refused(t, e.anon(t), http.MethodGet, "/credentials/CRD-"+ctl+".jwt", nil, "path.file")
			refused(t, e.anon(t), http.MethodGet, "/verify/"+ctl, nil, "path.credentialId")
			refused(t, e.anon(t), http.MethodGet, "/issuers/"+o.Slug+ctl+"/did.json", nil, "path.slug")
		}
	})

	t.Run("body", func(t *testing.T) {
		sample := func(field string) any {
			switch field {
			case "email":
				return uniqueEmail("ctl")
			case "password":
				return testPassword
			case "slug":
				return unique("ctl")
			case "websiteUrl", "imageUrl":
				return "https://issuer.example.com/ctl.png"
			case "badgeId":
				return b.ID
			case "credential":
				return cr.JWT
			case "challengeId":
				return unknown
			case "code":
				return "123456"
			}
			return "text"
		}
		probes := 0
		for _, id := range bodyOperations {
			method, path, op := doc.operation(t, id)
			var schema *openAPISchema
			if op.RequestBody != nil {
				schema = doc.resolve(op.RequestBody.Content["application/json"].Schema)
			}
			if schema == nil {
				t.Fatalf("%s: no JSON request body in the OpenAPI document", id)
			}
			body, fields := doc.example(schema, "body", sample)
			c := e.anon(t)
			if op.Security != nil {
				c = clientFor(path)
			}
			for _, field := range fields {
				for _, ctl := range bodyControls {
					refused(t, c, method, fill.Replace(path), field.with(body, "a"+ctl+"b"), field.location)
					probes++
				}
			}
		}
		if probes < 80 {
			t.Errorf("only %d probes: the walk of the OpenAPI document missed body fields", probes)
		}
	})
}

// openAPIDoc is the part of the OpenAPI document the walk reads.
type openAPIDoc struct {
	Paths      map[string]map[string]*openAPIOperation `json:"paths"`
	Components struct {
		Schemas map[string]*openAPISchema `json:"schemas"`
	} `json:"components"`
}

type openAPIOperation struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name   string         `json:"name"`
		In     string         `json:"in"`
		Schema *openAPISchema `json:"schema"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema *openAPISchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Security []map[string][]string `json:"security"`
}

type openAPISchema struct {
	Ref        string                    `json:"$ref"`
	Type       json.RawMessage           `json:"type"` // "string" or ["string", "null"]
	Properties map[string]*openAPISchema `json:"properties"`
	Items      *openAPISchema            `json:"items"`
}

// is reports whether the schema's type is (or includes) typ.
func (s *openAPISchema) is(typ string) bool {
	if s == nil {
		return false
	}
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		return one == typ
	}
	var many []string
	_ = json.Unmarshal(s.Type, &many)
	return slices.Contains(many, typ)
}

// resolve follows a $ref into the document's components.
func (d *openAPIDoc) resolve(s *openAPISchema) *openAPISchema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// operation finds an operation by its ID.
func (d *openAPIDoc) operation(t *testing.T, id string) (method, path string, op *openAPIOperation) {
	t.Helper()
	for path, item := range d.Paths {
		for method, op := range item {
			if op != nil && op.OperationID == id {
				return strings.ToUpper(method), path, op
			}
		}
	}
	t.Fatalf("no operation %s in the OpenAPI document", id)
	return "", "", nil
}

// stringField is one string of an example body: where it is, and how to
// put another value there.
type stringField struct {
	location string // "body.recipient.email"
	path     []any  // keys (string) and indexes (int) from the top
}

// with returns a copy of body with value at the field.
func (f stringField) with(body any, value string) any {
	var copied any
	raw, _ := json.Marshal(body)
	_ = json.Unmarshal(raw, &copied)
	at := copied
	for i, step := range f.path {
		last := i == len(f.path)-1
		switch k := step.(type) {
		case string:
			if last {
				at.(map[string]any)[k] = value
			} else {
				at = at.(map[string]any)[k]
			}
		case int:
			if last {
				at.([]any)[k] = value
			} else {
				at = at.([]any)[k]
			}
		}
	}
	return copied
}

// example builds a body of schema (sample gives a string field's value by
// its name) and lists its string fields.
func (d *openAPIDoc) example(s *openAPISchema, location string, sample func(field string) any) (any, []stringField) {
	var fields []stringField
	var build func(s *openAPISchema, location, name string, path []any) any
	build = func(s *openAPISchema, location, name string, path []any) any {
		s = d.resolve(s)
		switch {
		case s.is("object"):
			obj := map[string]any{}
			for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
				obj[k] = build(s.Properties[k], location+"."+k, k, append(slices.Clip(path), k))
			}
			return obj
		case s.is("array"):
			return []any{build(s.Items, location+"[0]", name, append(slices.Clip(path), 0))}
		case s.is("string"):
			fields = append(fields, stringField{location: location, path: path})
			return sample(name)
		case s.is("boolean"):
			return true
		case s.is("integer"), s.is("number"):
			return 1
		}
		return nil
	}
	return build(s, location, "", nil), fields
}
