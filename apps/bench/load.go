package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// load is a lean HTTP/1.1 load generator, in the manner of wrk: raw
// keep-alive connections, requests built before the run, responses read
// only as far as framing needs (status line, Content-Length or chunked
// encoding). It shares the machine with the server it measures, so it
// spends as little as it can per request: no net/http client, no header
// maps, no allocation per request.
type load struct {
	// addr is the server's host:port.
	addr string
	// conns is how many connections send at once.
	conns int
	// requests are whole raw requests; connection c sends requests[c],
	// requests[c+conns], … round the list.
	requests [][]byte
	// request, when set, writes request seq of connection conn into dst
	// and returns it (dst[:0] reused): the per-request hook of requests
	// that differ each time (a body with a new recipient). It replaces
	// requests.
	request func(conn int, seq int64, dst []byte) []byte
	// want is the status every answer must have (0: any below 400).
	want int
	// timeout bounds one request (default 5s); a request that takes longer
	// is an error and its connection is opened again.
	timeout time.Duration
}

// loadResult is what a run measured.
type loadResult struct {
	done     int64           // answers with the wanted status
	errors   int64           // other answers, timeouts and broken connections
	firstErr error           // the first of them
	elapsed  time.Duration   // how long the run took
	latency  []time.Duration // per request, sorted (but see merge; open loop: from its scheduled send time)
	worstAt  time.Duration   // when the slowest request was due, from the run's start
	started  time.Time       // when the run started (worstAt's origin)
}

// worstClock is the wall-clock time the slowest request was due, to match
// a stall against the server's log.
func (r loadResult) worstClock() string {
	return clock(r.started.Add(r.worstAt))
}

func (r loadResult) rate() float64 { return float64(r.done) / r.elapsed.Seconds() }

// merge adds run o to r, as if one run had taken both's time (not when
// the worst request was due); r.latency is left unsorted (sort it before
// percentile).
func (r *loadResult) merge(o loadResult) {
	r.done += o.done
	r.errors += o.errors
	if r.firstErr == nil {
		r.firstErr = o.firstErr
	}
	r.elapsed += o.elapsed
	r.latency = append(r.latency, o.latency...)
}

// percentile returns the p-th percentile (0 < p ≤ 100) of the latencies.
func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	i := int(float64(len(r.latency))*p/100+0.5) - 1
	return r.latency[min(max(i, 0), len(r.latency)-1)]
}

// closed runs a closed loop for d: every connection sends its next
// request as soon as the previous answer is read (wrk's model: it measures
// saturation throughput).
func (l load) closed(ctx context.Context, d time.Duration) loadResult {
	deadline := time.Now().Add(d)
	return l.run(ctx, func(int) (time.Time, bool) {
		now := time.Now()
		return now, now.Before(deadline)
	})
}

// open runs an open loop at rate requests per second for d: request i is
// due at start + i/rate whatever happened to the ones before, and its
// latency counts from then, not from when a connection was free to send
// it (so a stalled server is not let off the requests it delayed:
// wrk2's answer to coordinated omission). Connections take the next due
// request when they are free; when all are busy, due requests wait and
// that wait is part of their latency.
func (l load) open(ctx context.Context, rate float64, d time.Duration) loadResult {
	interval := time.Duration(float64(time.Second) / rate)
	total := int64(d / interval)
	start := time.Now().Add(10 * time.Millisecond) // every connection is waiting by then
	var next atomic.Int64
	return l.run(ctx, func(int) (time.Time, bool) {
		i := next.Add(1) - 1
		if i >= total {
			return time.Time{}, false
		}
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		return due, true
	})
}

// run opens the connections and has each send while next says so; next
// returns the instant a request's latency counts from.
func (l load) run(ctx context.Context, next func(conn int) (time.Time, bool)) loadResult {
	if l.timeout <= 0 {
		l.timeout = 5 * time.Second
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		out    loadResult
		start  = time.Now()
		perCon = make([][]time.Duration, l.conns)
	)
	for c := range l.conns {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			var worst, worstAt time.Duration
			var done, failed int64
			var first error
			w := &loadConn{load: &l}
			defer w.close()
			var buf []byte
			for seq := int64(0); ctx.Err() == nil; seq++ {
				from, ok := next(c)
				if !ok {
					break
				}
				var req []byte
				if l.request != nil {
					buf = l.request(c, seq, buf[:0])
					req = buf
				} else {
					req = l.requests[(int64(c)+seq*int64(l.conns))%int64(len(l.requests))]
				}
				status, err := w.roundTrip(req)
				took := time.Since(from)
				lat = append(lat, took)
				if took > worst {
					worst, worstAt = took, from.Sub(start)
				}
				if err == nil && (l.want != 0 && status != l.want || l.want == 0 && status >= 400) {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					failed++
					if first == nil {
						first = err
					}
					continue
				}
				done++
			}
			perCon[c] = lat
			mu.Lock()
			if len(out.latency) == 0 || worst > out.latency[0] {
				out.latency = []time.Duration{worst} // the slowest so far, until the merge below
				out.worstAt = worstAt
			}
			out.done += done
			out.errors += failed
			if out.firstErr == nil {
				out.firstErr = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	out.started = start
	out.elapsed = time.Since(start)
	out.latency = out.latency[:0]
	for _, lat := range perCon {
		out.latency = append(out.latency, lat...)
	}
	slices.Sort(out.latency)
	return out
}

// loadConn is one keep-alive connection, dialled when first needed and
// again after an error.
type loadConn struct {
	load *load
	conn net.Conn
	r    *bufio.Reader
}

func (c *loadConn) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}

// roundTrip sends req and reads the answer's status line, headers and
// body (discarded), and returns its status.
func (c *loadConn) roundTrip(req []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.load.addr, c.load.timeout)
		if err != nil {
			return 0, err
		}
		c.conn = conn
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 64<<10)
		} else {
			c.r.Reset(conn)
		}
	}
	_ = c.conn.SetDeadline(time.Now().Add(c.load.timeout))
	status, keep, err := c.exchange(req)
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

func (c *loadConn) exchange(req []byte) (status int, keep bool, err error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := int64(-1), false, true
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		if len(h) <= 2 { // the blank line
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil {
				return status, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = c.skipChunks()
	case length >= 0:
		_, err = c.r.Discard(int(length))
	default: // the body runs until the connection closes
		_, err = io.Copy(io.Discard, c.r)
		keep = false
	}
	return status, keep, err
}

// skipChunks reads a chunked body to its end.
func (c *loadConn) skipChunks() error {
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, then the blank line
				t, err := c.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(t) <= 2 {
					return nil
				}
			}
		}
		if _, err := c.r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

// getRequest is a raw keep-alive GET of path on host.
func getRequest(host, path string, header ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: credence-bench\r\n", path, host)
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", header[i], header[i+1])
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// appendPost appends a raw keep-alive POST of body to path on host, with
// the headers given as name, value pairs.
func appendPost(dst []byte, host, path string, body []byte, header ...string) []byte {
	dst = append(dst, "POST "...)
	dst = append(dst, path...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUser-Agent: credence-bench\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	for i := 0; i+1 < len(header); i += 2 {
		dst = append(dst, header[i]...)
		dst = append(dst, ": "...)
		dst = append(dst, header[i+1]...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}
