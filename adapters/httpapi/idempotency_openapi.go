package httpapi

import (
	"fmt"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// The OpenAPI side of Idempotency-Key handling: the wrapper works outside
// huma, so the document learns of the header here.

// Names of the OpenAPI components declaring the headers.
const (
	idempotencyKeyParam = "IdempotencyKey"
	replayedHeaderName  = "IdempotentReplayed"
)

// documentIdempotency declares, on every POST operation of the document,
// the Idempotency-Key request header and the Idempotent-Replayed header of
// its responses. The wrapper handles them outside huma, so no operation
// declares them itself; call it once every operation is registered.
func documentIdempotency(oapi *huma.OpenAPI) {
	if oapi.Components == nil {
		oapi.Components = &huma.Components{}
	}
	if oapi.Components.Parameters == nil {
		oapi.Components.Parameters = map[string]*huma.Param{}
	}
	if oapi.Components.Headers == nil {
		oapi.Components.Headers = map[string]*huma.Header{}
	}
	minLen, maxLen := 1, maxIdempotencyKey
	cfg := defaultIdempotency
	oapi.Components.Parameters[idempotencyKeyParam] = &huma.Param{
		Name: idempotencyKeyHeader, In: "header",
		Description: fmt.Sprintf("Makes the request safe to retry (docs/idempotency.md). A retry with the same key and the same "+
			"request (method, path, query, Content-Type and body) within %s gets the first response again, with "+
			"`%s: true`, and runs nothing; the same key with another request gets 422 IDEMPOTENCY_KEY_REUSED; "+
			"a retry arriving while the first request runs waits for it up to %s, then gets 409 %s. Keys are "+
			"scoped by the Authorization header (without one, by the request itself: another request is another key): "+
			"use a fresh random value (a UUID) per operation and the same one for its retries. 5xx, 408, 429 and other "+
			"answers asking for a retry are not kept. Kept responses are stored sealed (encrypted).",
			humanDuration(cfg.ttl), replayedHeader, humanDuration(cfg.wait), codeIdempotencyInProgress),
		Schema:  &huma.Schema{Type: "string", MinLength: &minLen, MaxLength: &maxLen, Pattern: `^[\x20-\x7E]+$`},
		Example: "5f0c6a9e-8d0b-4b53-9a36-2a3c1e7d4f10",
	}
	oapi.Components.Headers[replayedHeaderName] = &huma.Header{
		Description: "`true` when this response is the stored response to an earlier request with the same Idempotency-Key, " +
			"sent again: the request did not run. Absent otherwise.",
		Schema: &huma.Schema{Type: "string", Enum: []any{"true"}},
	}
	for _, item := range oapi.Paths {
		op := item.Post
		if op == nil {
			continue
		}
		op.Parameters = append(op.Parameters[:len(op.Parameters):len(op.Parameters)],
			&huma.Param{Ref: "#/components/parameters/" + idempotencyKeyParam})
		for code, resp := range op.Responses {
			// A copy: huma may share a response between operations.
			r := *resp
			r.Headers = make(map[string]*huma.Header, len(resp.Headers)+1)
			for k, v := range resp.Headers {
				r.Headers[k] = v
			}
			r.Headers[replayedHeader] = &huma.Header{Ref: "#/components/headers/" + replayedHeaderName}
			op.Responses[code] = &r
		}
	}
}

// humanDuration writes d as "24 hours" or "30 seconds".
func humanDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return strconv.Itoa(int(d/time.Second)) + " seconds"
}
