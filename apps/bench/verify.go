package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// runVerify is -mode verify: it issues -credentials credentials, then
// measures with the lean load generator (load.go), on -conns
// connections:
//
//   - closed loop (wrk's model), -duration each: /healthz, verification by
//     ID (GET /api/v1/credentials/{id}/verify) and the HTML page (GET
//     /verify/{id}), the last two as a share of /healthz (measured before
//     and after them, and averaged: the machine's speed drifts). The page
//     is asked for as Chromium asks (Accept-Encoding: gzip, deflate, br,
//     zstd), and once more without Accept-Encoding ("page-plain"), as a
//     client that takes no compression would;
//   - open loop at each of -rates requests per second, -duration each, for
//     both and for /healthz (the floor the machine and the load generator
//     allow): p50 and p99 latency counted from each request's scheduled
//     send time (no coordinated omission), and how many failed.
//
// The requests cycle through the credentials, so every one of them is
// verified again and again (what a cache of signature checks sees when
// people open the links they were sent).
func runVerify(ctx context.Context, o options) error {
	base, err := url.Parse(strings.TrimRight(o.url, "/"))
	if err != nil || base.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port", o.url)
	}
	c := &client{base: base.String(), http: &http.Client{Timeout: time.Minute}}
	o.noMail = true // the recipients are made up
	setup, err := c.setup(ctx, o)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	ids := make([]string, o.credentials)
	for i := range ids {
		var cr struct{ ID string }
		body := map[string]any{"badgeId": setup.badge, "recipient": map[string]string{"name": "Vera Verifier", "email": fmt.Sprintf("v%d@%s.v.example", i, run)}}
		if err := c.json(ctx, "POST", "/api/v1/orgs/"+setup.org+"/credentials", setup.token, body, &cr); err != nil {
			return fmt.Errorf("issue: %w", err)
		}
		ids[i] = cr.ID
	}
	// Every check passes before anything is timed.
	var v struct {
		Result string `json:"result"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := c.json(ctx, "GET", "/api/v1/credentials/"+ids[0]+"/verify", "", nil, &v); err != nil {
		return err
	}
	for _, ch := range v.Checks {
		if !ch.OK {
			return fmt.Errorf("verification of %s: %+v", ids[0], v)
		}
	}
	raw, _ := json.Marshal(v)
	fmt.Printf("verify: %d credentials issued; %s verifies %s\n", len(ids), ids[0], raw)
	if o.afterSetup != "" {
		// The setup's writes are settled first (on PostgreSQL, vacuumed
		// and analyzed), so that autovacuum reacting to them does not
		// run in the middle of a measurement.
		if out, err := exec.CommandContext(ctx, "sh", "-c", o.afterSetup).CombinedOutput(); err != nil {
			return fmt.Errorf("-after-setup %q: %w: %s", o.afterSetup, err, out)
		}
	}

	host := base.Host
	targets := map[string][][]byte{"healthz": {getRequest(host, "/healthz")}}
	for _, id := range ids {
		targets["verify"] = append(targets["verify"], getRequest(host, "/api/v1/credentials/"+id+"/verify", "Accept", "application/json"))
		targets["page"] = append(targets["page"], getRequest(host, "/verify/"+id, "Accept", browserAccept, "Accept-Encoding", browserAcceptEncoding))
		targets["page-plain"] = append(targets["page-plain"], getRequest(host, "/verify/"+id, "Accept", browserAccept))
	}
	gen := func(name string) load {
		return load{addr: host, conns: o.conns, requests: targets[name], want: http.StatusOK}
	}
	server := o.pid
	if server == 0 && o.pidOf != "" {
		if server, err = pgrep(o.pidOf); err != nil {
			return err
		}
	}
	closed := func(name string) (loadResult, error) {
		before := cpuNow(server)
		r := gen(name).closed(ctx, o.duration)
		if r.done == 0 || r.errors > 0 {
			return r, fmt.Errorf("%s: %d of %d failed (first: %v)", name, r.errors, r.errors+r.done, r.firstErr)
		}
		fmt.Printf("  closed %-10s %8.0f req/s  p50 %7s  p99 %7s  %s\n", name, r.rate(), ms(r.percentile(50)), ms(r.percentile(99)),
			cpuNow(server).perRequest(before, r.done))
		return r, nil
	}
	fmt.Printf("closed loop, %d connections, %v each:\n", o.conns, o.duration)
	for _, name := range []string{"healthz", "verify", "page", "page-plain"} { // warm up: connections, caches, the JIT of PostgreSQL plans
		gen(name).closed(ctx, time.Second)
	}
	h1, err := closed("healthz")
	if err != nil {
		return err
	}
	ver, err := closed("verify")
	if err != nil {
		return err
	}
	page, err := closed("page")
	if err != nil {
		return err
	}
	plain, err := closed("page-plain")
	if err != nil {
		return err
	}
	h2, err := closed("healthz")
	if err != nil {
		return err
	}
	health := (h1.rate() + h2.rate()) / 2
	summary := []string{fmt.Sprintf("healthz %.0f req/s; verify %.0f req/s = %.1f%%; page %.0f req/s = %.1f%%; page-plain %.0f req/s = %.1f%%",
		health, ver.rate(), 100*ver.rate()/health, page.rate(), 100*page.rate()/health, plain.rate(), 100*plain.rate()/health)}

	fmt.Printf("open loop, %d connections, %v each (latency from the scheduled send):\n", o.conns, o.duration)
	for _, rate := range o.rates {
		for _, name := range []string{"healthz", "verify", "page"} { // healthz: the floor the machine allows
			before := cpuNow(server)
			r := gen(name).open(ctx, float64(rate), o.duration)
			fmt.Printf("  %5d/s %-8s sent %6d  failed %4d  p50 %7s  p99 %7s  p99.9 %7s  max %7s (due at +%.1fs)  %s\n", rate, name, r.done+r.errors, r.errors,
				ms(r.percentile(50)), ms(r.percentile(99)), ms(r.percentile(99.9)), ms(r.percentile(100)), r.worstAt.Seconds(), cpuNow(server).perRequest(before, r.done))
			summary = append(summary, fmt.Sprintf("%s at %d/s: p50 %s, p99 %s, %d failed", name, rate, ms(r.percentile(50)), ms(r.percentile(99)), r.errors))
		}
	}
	fmt.Println("summary: " + strings.Join(summary, "; "))
	return nil
}

// browserAccept and browserAcceptEncoding are what Chromium sends when
// it opens a page.
const (
	browserAccept         = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
	browserAcceptEncoding = "gzip, deflate, br, zstd"
)

// ms formats d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// perRequest reports the CPU each process spent per request between a and b.
func (b cpuUse) perRequest(a cpuUse, n int64) string {
	if n == 0 {
		return ""
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	return fmt.Sprintf("CPU µs/req: server %.0f, bench %.0f, postgres %.0f, redis %.0f", us(b.server-a.server), us(b.self-a.self), us(b.db-a.db), us(b.redis-a.redis))
}
