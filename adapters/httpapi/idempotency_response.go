package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/credence-dev/credence/ports"
)

// What the wrapper keeps of a response and gives back: the copy taken as
// it is sent, the choice of what is kept, the sealing of what the store
// holds, and the replay.

// responseCopy passes a response through while keeping a copy of it.
type responseCopy struct {
	http.ResponseWriter
	status int
	header http.Header // the replayed headers, as sent
	body   bytes.Buffer
}

func (rec *responseCopy) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
		rec.header = http.Header{}
		for _, k := range replayedHeaders {
			if vs := rec.ResponseWriter.Header().Values(k); len(vs) > 0 {
				rec.header[k] = append([]string(nil), vs...)
			}
		}
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *responseCopy) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	rec.body.Write(b)
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (rec *responseCopy) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Flush passes flushes through (streamed responses are still recorded).
func (rec *responseCopy) Flush() {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush() // a writer that cannot flush buffers
}

func (rec *responseCopy) response() ports.StoredResponse {
	if rec.status == 0 { // nothing written: net/http sends 200
		rec.WriteHeader(http.StatusOK)
	}
	resp := ports.StoredResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
	if len(resp.Header) == 0 {
		resp.Header = nil
	}
	return resp
}

// storable reports whether a retry should get resp again.
func storable(resp ports.StoredResponse) bool {
	switch {
	case resp.Status >= 500, resp.Status == http.StatusRequestTimeout, resp.Status == http.StatusTooManyRequests:
		return false
	case len(resp.Header["Retry-After"]) > 0:
		return false
	case resp.Status >= 400:
		ct := ""
		if v := resp.Header["Content-Type"]; len(v) > 0 {
			ct = v[0]
		}
		if mt, _, _ := mime.ParseMediaType(ct); mt == "application/problem+json" {
			var p struct {
				Code string `json:"code"`
			}
			if json.Unmarshal(resp.Body, &p) == nil && transientCodes[p.Code] {
				return false
			}
		}
	}
	return true
}

// replay writes a stored response again.
func replayResponse(w http.ResponseWriter, resp *ports.StoredResponse) {
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.Header().Set(replayedHeader, "true")
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// sealedResponse is the plaintext of a stored response: its headers and
// body, and the scope, key and request they answered, so that a record
// moved to another scope, key or request does not open there.
type sealedResponse struct {
	Scope       string              `json:"scope"`
	Key         string              `json:"key"`
	RequestHash []byte              `json:"request"`
	Header      map[string][]string `json:"header,omitempty"`
	Body        []byte              `json:"body,omitempty"`
}

// seal returns what the store keeps of resp, answering claim c: its
// status, and its headers and body encrypted with h.sealer.
func (h *idempotency) seal(c ports.IdempotencyClaim, resp ports.StoredResponse) (ports.StoredResponse, error) {
	plain, err := json.Marshal(sealedResponse{Scope: c.Scope, Key: c.Key, RequestHash: c.RequestHash, Header: resp.Header, Body: resp.Body})
	if err != nil {
		return ports.StoredResponse{}, err
	}
	box, err := h.sealer.Encrypt(plain)
	if err != nil {
		return ports.StoredResponse{}, err
	}
	return ports.StoredResponse{Status: resp.Status, Body: box}, nil
}

// open reverses seal for the request of claim c, which must be the one
// the response was sealed for.
func (h *idempotency) open(c ports.IdempotencyClaim, stored ports.StoredResponse) (ports.StoredResponse, error) {
	plain, err := h.sealer.Decrypt(stored.Body)
	if err != nil {
		return ports.StoredResponse{}, err
	}
	var s sealedResponse
	if err := json.Unmarshal(plain, &s); err != nil {
		return ports.StoredResponse{}, fmt.Errorf("decode sealed response: %w", err)
	}
	if s.Scope != c.Scope || s.Key != c.Key || !bytes.Equal(s.RequestHash, c.RequestHash) {
		return ports.StoredResponse{}, errors.New("the sealed response answered another request")
	}
	return ports.StoredResponse{Status: stored.Status, Header: s.Header, Body: s.Body}, nil
}
