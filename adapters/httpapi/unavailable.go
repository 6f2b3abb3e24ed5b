package httpapi

import (
	"net/http"
	"strconv"
)

// retryUnavailable is the Retry-After of a 503: a restarting or failing
// over database is usually back within seconds.
const retryUnavailable = 5 // seconds

// unavailablePage is what an HTML page says when the database cannot be
// reached (503 UNAVAILABLE).
const unavailablePage = "Credence cannot reach its database right now: try again in a few seconds."

// retryAfter503 gives every 503 answer a Retry-After header, unless it
// set its own: the UNAVAILABLE problems of every route (the API's
// operations, the public documents, the HTML pages, the Idempotency-Key
// wrapper's checks) and /readyz. One place, so that no writer of a 503
// can forget it.
func retryAfter503(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&retryAfterWriter{ResponseWriter: w}, r)
	})
}

// retryAfterWriter adds Retry-After to a 503 as its header is written.
type retryAfterWriter struct{ http.ResponseWriter }

func (w *retryAfterWriter) WriteHeader(status int) {
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(retryUnavailable))
	}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the connection's writer (a
// streamed export extends its write deadline).
func (w *retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through.
func (w *retryAfterWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }
