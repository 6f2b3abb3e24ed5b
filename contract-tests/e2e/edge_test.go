package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSecurityHeaders: every kind of response — API answers and problems,
// public documents, HTML pages, unknown paths — says nosniff, refuses to
// be framed and sends no referrer.
func testSecurityHeaders(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	cr := issue(c, o.ID, b.ID, "Hedda Header", uniqueEmail("headers"))
	anon := e.anon(t)
	for _, r := range []*response{
		c.do(http.MethodGet, "/api/v1/me", nil),
		anon.do(http.MethodGet, "/api/v1/me", nil),
		anon.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": owner.Email, "password": "wrong password"}),
		anon.do(http.MethodGet, "/openapi.json", nil),
		anon.do(http.MethodGet, "/healthz", nil),
		anon.do(http.MethodGet, "/no/such/path", nil),
		anon.do(http.MethodGet, "/credentials/"+cr.ID+".jwt", nil),
		anon.do(http.MethodGet, "/credentials/"+cr.ID, nil),
		anon.do(http.MethodGet, "/issuers/"+o.Slug+"/did.json", nil),
		anon.do(http.MethodGet, "/issuers/"+o.Slug+"/jwks.json", nil),
		anon.do(http.MethodGet, "/verify", nil),
		anon.do(http.MethodGet, "/verify/"+cr.ID, nil),
		anon.do(http.MethodGet, "/verify/CRD-NOSUCH00", nil),
		anon.do(http.MethodGet, "/reset-password?token=x", nil),
		anon.do(http.MethodGet, "/verify-email?token=x", nil),
	} {
		h := r.Header
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: X-Content-Type-Options %q, X-Frame-Options %q, Content-Security-Policy %q, Referrer-Policy %q",
				r.method, r.path, h.Get("X-Content-Type-Options"), h.Get("X-Frame-Options"), h.Get("Content-Security-Policy"), h.Get("Referrer-Policy"))
		}
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") && !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s %s: an HTML page without its full policy: %q", r.method, r.path, h.Get("Content-Security-Policy"))
		}
	}
}

// testUploadBomb sends bulk uploads far over the body cap — declared,
// chunked, with an Idempotency-Key, four at once — and requires each to be
// refused with 413 within a second while the server's peak memory grows
// by less than 20 MB: nothing reads an upload past its bound.
func testUploadBomb(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	path := "/api/v1/orgs/" + o.ID + "/bulk-issuances/validate"
	const bomb = 100 << 20
	pid := e.proc.cmd.Process.Pid
	resetPeak(t, pid)
	base := peakRSS(t, pid)

	send := func(name string, chunked bool, header ...string) {
		t.Helper()
		body, contentType, size := bombBody(b.ID, bomb)
		req, err := http.NewRequest(http.MethodPost, e.url+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = size
		if chunked {
			req.ContentLength = -1
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+owner.Token)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		start := time.Now()
		res, err := e.http.Do(req)
		took := time.Since(start)
		if err != nil {
			t.Errorf("%s: %v after %s", name, err, took)
			return
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		r := &response{method: http.MethodPost, path: path, Status: res.StatusCode, Header: res.Header, Body: data}
		if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), `"PAYLOAD_TOO_LARGE"`) {
			t.Errorf("%s: %s", name, r)
		}
		if took > time.Second {
			t.Errorf("%s: refused after %s, want within 1 s", name, took)
		}
		t.Logf("%s: %d in %s", name, r.Status, took.Round(time.Millisecond))
	}
	send("declared 100 MB", false)
	send("chunked 100 MB", true)
	send("chunked 100 MB with an Idempotency-Key", true, "Idempotency-Key", unique("bomb"))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { send(fmt.Sprintf("chunked 100 MB, one of four at once (%d)", i+1), true) })
	}
	wg.Wait()
	grown := peakRSS(t, pid) - base
	t.Logf("peak RSS grew by %.1f MB over %.1f MB", float64(grown)/(1<<20), float64(base)/(1<<20))
	if grown >= 20<<20 {
		t.Errorf("peak RSS grew by %.1f MB, want under 20 MB", float64(grown)/(1<<20))
	}

	// A file just over the bulk limit is still told its size, from its
	// beginning alone.
	data := bytes.Repeat([]byte("Ada Lovelace,ada@example.com\n"), (3<<20)/29)
	c.expectProblem(http.StatusUnprocessableEntity, "INVALID_CSV", http.MethodPost, path,
		bulkForm(t, b.ID, "big.csv", "text/csv", append([]byte("name,email\n"), data...)))
}

// bombBody is a multipart bulk upload whose file is size bytes of CSV
// rows, generated as it is read; it returns the body, its Content-Type
// and its length.
func bombBody(badgeID string, size int64) (io.Reader, string, int64) {
	var head, tail bytes.Buffer
	w := multipart.NewWriter(&head)
	_ = w.WriteField("badgeId", badgeID)
	_, _ = w.CreateFormFile("file", "bomb.csv")
	boundary := w.Boundary()
	fmt.Fprintf(&tail, "\r\n--%s--\r\n", boundary)
	rows := io.LimitReader(repeatReader("Ada Lovelace,ada@example.com\n"), size)
	body := io.MultiReader(bytes.NewReader(head.Bytes()), rows, bytes.NewReader(tail.Bytes()))
	return body, w.FormDataContentType(), int64(head.Len()) + size + int64(tail.Len())
}

// repeatReader reads s over and over.
type repeatReader string

func (r repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r)
	}
	return n, nil
}

// resetPeak resets the peak resident set size of process pid (VmHWM) to
// its current size.
func resetPeak(t *testing.T, pid int) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak RSS of the server (%v): the memory bound is not measured here", err)
	}
}

// peakRSS is the peak resident set size of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc status for the server (%v): the memory bound is not measured here", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
