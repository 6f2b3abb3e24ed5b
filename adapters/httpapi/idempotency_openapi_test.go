package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOpenAPIDeclaresIdempotencyKey fails when an operation of the served
// OpenAPI document does not declare what the idempotency wrapper does:
// every POST takes an optional Idempotency-Key header (as long as
// validIdempotencyKey allows) and every one of its responses may carry
// Idempotent-Replayed; no other method mentions them, since the wrapper
// lets those through untouched.
func TestOpenAPIDeclaresIdempotencyKey(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	New(Deps{Log: slog.New(slog.DiscardHandler)}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", rec.Code, rec.Body)
	}
	type schema struct {
		Type      any  `json:"type"` // a string, or a list such as [array, null]
		MinLength *int `json:"minLength"`
		MaxLength *int `json:"maxLength"`
	}
	type param struct {
		Ref      string  `json:"$ref"`
		Name     string  `json:"name"`
		In       string  `json:"in"`
		Required bool    `json:"required"`
		Schema   *schema `json:"schema"`
	}
	type response struct {
		Headers map[string]param `json:"headers"`
	}
	type operation struct {
		OperationID string              `json:"operationId"`
		Parameters  []param             `json:"parameters"`
		Responses   map[string]response `json:"responses"`
	}
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Parameters map[string]param `json:"parameters"`
			Headers    map[string]param `json:"headers"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	resolve := func(p param, prefix string, components map[string]param) param {
		t.Helper()
		if p.Ref == "" {
			return p
		}
		name, ok := strings.CutPrefix(p.Ref, prefix)
		target, found := components[name]
		if !ok || !found {
			t.Fatalf("unresolvable $ref %q", p.Ref)
		}
		return target
	}

	posts := 0
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !isHTTPMethod(method) {
				continue // parameters, summary … of the path item
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			var keys []param
			for _, p := range op.Parameters {
				p = resolve(p, "#/components/parameters/", doc.Components.Parameters)
				if p.In == "header" && strings.EqualFold(p.Name, idempotencyKeyHeader) {
					keys = append(keys, p)
				}
			}
			if method != "post" {
				if len(keys) > 0 {
					t.Errorf("%s %s (%s) declares %s, which only POSTs take", method, path, op.OperationID, idempotencyKeyHeader)
				}
				continue
			}
			posts++
			switch {
			case len(keys) != 1:
				t.Errorf("POST %s (%s) declares %s %d times, want once", path, op.OperationID, idempotencyKeyHeader, len(keys))
			case keys[0].Required:
				t.Errorf("POST %s (%s): %s is required, want optional", path, op.OperationID, idempotencyKeyHeader)
			case keys[0].Schema == nil || keys[0].Schema.Type != "string" || keys[0].Schema.MaxLength == nil ||
				*keys[0].Schema.MaxLength != maxIdempotencyKey || keys[0].Schema.MinLength == nil || *keys[0].Schema.MinLength != 1:
				t.Errorf("POST %s (%s): %s schema %+v, want a string of 1 to %d characters",
					path, op.OperationID, idempotencyKeyHeader, keys[0].Schema, maxIdempotencyKey)
			}
			if len(op.Responses) == 0 {
				t.Errorf("POST %s (%s) has no responses", path, op.OperationID)
			}
			for code, resp := range op.Responses {
				h, ok := resp.Headers[replayedHeader]
				if !ok {
					t.Errorf("POST %s (%s): response %s does not declare %s", path, op.OperationID, code, replayedHeader)
					continue
				}
				if h = resolve(h, "#/components/headers/", doc.Components.Headers); h.Schema == nil || h.Schema.Type != "string" {
					t.Errorf("POST %s (%s): response %s: %s schema %+v, want a string", path, op.OperationID, code, replayedHeader, h.Schema)
				}
			}
		}
	}
	if posts == 0 {
		t.Fatal("the document has no POST operation: is this the API's document?")
	}
}

func isHTTPMethod(s string) bool {
	switch s {
	case "get", "put", "post", "delete", "options", "head", "patch", "trace":
		return true
	}
	return false
}
