package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
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
//     /verify/{id}), the last two as a share of /healthz. The page is
//     asked for as Chromium asks (Accept-Encoding: gzip, deflate, br,
//     zstd), and once more without Accept-Encoding ("page-plain"), as a
//     client that takes no compression would. The measurements are
//     interleaved in -rounds rounds (see closedRounds), so that each share
//     compares throughputs taken seconds apart, under the same conditions
//     of a shared machine, and the share reported is the median of the
//     rounds' shares;
//   - open loop at each of -rates requests per second, -duration each, for
//     both and for /healthz (the floor the machine and the load generator
//     allow): p50 and p99 latency counted from each request's scheduled
//     send time (no coordinated omission), and how many failed. A probe
//     (stallProbe) watches meanwhile; a phase in which it stood still for
//     -stall or longer is measured again, up to -stall-again times, and
//     every attempt is printed (closed-loop rounds likewise, at twice
//     -stall; see closedRounds).
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
	closed, again, err := closedRounds(ctx, gen, server, o)
	if err != nil {
		return err
	}
	summary := []string{fmt.Sprintf("healthz %.0f req/s", closed["healthz"].rate())}
	if len(again) > 0 {
		summary[0] += fmt.Sprintf(" (closed-loop rounds measured again after the probe stood still: %s)", strings.Join(again, ", "))
	}
	for _, name := range []string{"verify", "page", "page-plain"} {
		m := closed[name]
		lo, mid, hi := m.shares()
		summary = append(summary, fmt.Sprintf("%s %.0f req/s = %.1f%% (median of %d rounds; %.1f–%.1f%%)", name, m.rate(), mid, len(m.share), lo, hi))
	}

	fmt.Printf("open loop, %d connections, %v each (latency from the scheduled send; probe: its longest stand-still, see stallProbe):\n", o.conns, o.duration)
	for _, rate := range o.rates {
		for _, name := range []string{"healthz", "verify", "page"} { // healthz: the floor the machine allows
			var again []string
			for attempt := 0; ; attempt++ {
				before := cpuNow(server)
				probe := startProbe()
				r := gen(name).open(ctx, float64(rate), o.duration)
				stall, stallAt := probe.stop()
				fmt.Printf("  %5d/s %-8s sent %6d  failed %4d  p50 %7s  p99 %7s  p99.9 %7s  max %7s (due at +%.1fs, %s UTC)  probe %s at %s  %s\n", rate, name, r.done+r.errors, r.errors,
					ms(r.percentile(50)), ms(r.percentile(99)), ms(r.percentile(99.9)), ms(r.percentile(100)), r.worstAt.Seconds(), r.worstClock(),
					ms(stall), clock(stallAt), cpuNow(server).perRequest(before, r.done))
				stalled := o.stall > 0 && stall >= o.stall
				if !stalled || attempt >= o.stallAgain {
					note := ""
					if len(again) > 0 {
						note = fmt.Sprintf(" (measured again after the probe stood still for %s)", strings.Join(again, ", "))
					}
					if stalled {
						note += fmt.Sprintf(" (kept, though the probe stood still for %s in it too)", ms(stall))
					}
					summary = append(summary, fmt.Sprintf("%s at %d/s: p50 %s, p99 %s, %d failed%s", name, rate, ms(r.percentile(50)), ms(r.percentile(99)), r.errors, note))
					break
				}
				again = append(again, fmt.Sprintf("%s at %s UTC (p99 then %s, %d failed)", ms(stall), clock(stallAt), ms(r.percentile(99)), r.errors))
				fmt.Printf("          measured again: the probe, which does nothing else, stood still for %s\n", ms(stall))
			}
		}
	}
	fmt.Println("summary: " + strings.Join(summary, "; "))
	return nil
}

// closedMeasure is one closed-loop measurement summed over its rounds.
type closedMeasure struct {
	loadResult
	cpu   cpuUse    // CPU spent during its rounds
	share []float64 // per round: its throughput as a percentage of /healthz's in the same round
}

// shares returns the lowest, median and highest of m.share.
func (m closedMeasure) shares() (lo, mid, hi float64) {
	s := slices.Clone(m.share)
	if len(s) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s)
	mid = s[len(s)/2]
	if len(s)%2 == 0 {
		mid = (s[len(s)/2-1] + mid) / 2
	}
	return s[0], mid, s[len(s)-1]
}

// closedStall is how many times -stall the probe must oversleep during a
// closed-loop round for the round to be measured again: a machine kept
// busy by the load delays the probe's wake-ups by up to some 10 ms on its
// own.
const closedStall = 2

// closedRounds runs the closed-loop measurements in -rounds rounds of
// -duration/-rounds each. A round measures /healthz, verify, page and
// page-plain one after the other, in the round's balancedOrder, and each
// round gives each measurement's share of that round's /healthz
// throughput. A machine shared with other work drifts in speed over
// seconds: throughputs measured within one round are comparable, the
// same measured twenty seconds apart (the old way, /healthz before and
// after everything) are not. It prints each measurement summed over its
// rounds, with its shares. A round in which the probe (stallProbe) saw
// the machine stand still for closedStall × -stall or longer is measured
// again, whole, up to -stall-again times.
func closedRounds(ctx context.Context, gen func(string) load, server int, o options) (map[string]*closedMeasure, []string, error) {
	names := []string{"healthz", "verify", "page", "page-plain"}
	rounds := max(o.rounds, 1)
	slice := o.duration / time.Duration(rounds)
	for _, name := range names { // warm up: connections, caches, the JIT of PostgreSQL plans
		gen(name).closed(ctx, time.Second)
	}
	out := make(map[string]*closedMeasure, len(names))
	for _, name := range names {
		out[name] = &closedMeasure{}
	}
	type taken struct {
		r   loadResult
		cpu cpuUse
	}
	var again []string
	for round := range rounds {
		for attempt := 0; ; attempt++ {
			got := make(map[string]taken, len(names))
			var stall time.Duration
			var stallIn string
			for _, i := range balancedOrder[round%len(balancedOrder)] {
				name := names[i]
				before := cpuNow(server)
				probe := startProbe()
				r := gen(name).closed(ctx, slice)
				if s, _ := probe.stop(); s > stall {
					stall, stallIn = s, name
				}
				if r.done == 0 || r.errors > 0 {
					return nil, nil, fmt.Errorf("%s: %d of %d failed (first: %v)", name, r.errors, r.errors+r.done, r.firstErr)
				}
				got[name] = taken{r, cpuNow(server).minus(before)}
			}
			if o.stall > 0 && stall >= closedStall*o.stall {
				if attempt < o.stallAgain {
					// The round is measured again, whole: its shares
					// compare measurements of one stretch of time.
					again = append(again, fmt.Sprintf("round %d (%s during %s)", round+1, ms(stall), stallIn))
					continue
				}
				again = append(again, fmt.Sprintf("round %d kept, though %s during %s", round+1, ms(stall), stallIn))
			}
			for name, t := range got {
				m := out[name]
				m.cpu = m.cpu.plus(t.cpu)
				m.merge(t.r)
			}
			for _, name := range names[1:] {
				out[name].share = append(out[name].share, 100*got[name].r.rate()/got["healthz"].r.rate())
			}
			break
		}
	}
	if len(again) > 0 {
		fmt.Printf("closed loop: measured again after the probe stood still: %s\n", strings.Join(again, ", "))
	}
	fmt.Printf("closed loop, %d connections, %d rounds of %v each (in a balanced order):\n", o.conns, rounds, slice)
	for _, name := range names {
		m := out[name]
		slices.Sort(m.latency)
		line := fmt.Sprintf("  closed %-10s %8.0f req/s  p50 %7s  p99 %7s  %s", name, m.rate(), ms(m.percentile(50)), ms(m.percentile(99)), m.cpu.perRequest(cpuUse{}, m.done))
		if len(m.share) > 0 {
			parts := make([]string, len(m.share))
			for i, v := range m.share {
				parts[i] = fmt.Sprintf("%.1f", v)
			}
			_, mid, _ := m.shares()
			line += fmt.Sprintf("  share of healthz per round: %s%% (median %.1f%%)", strings.Join(parts, " "), mid)
		}
		fmt.Println(line)
	}
	return out, again, nil
}

// balancedOrder is the order of the closed-loop measurements (indexes of
// healthz, verify, page, page-plain) in successive rounds: a balanced
// Latin square, in which each measurement comes first once and follows
// each other one once, so that neither going first nor what ran just
// before (a heavier measurement's leftovers) favours one of them. Four
// rounds, or a multiple, use it whole.
var balancedOrder = [][]int{{0, 1, 3, 2}, {1, 2, 0, 3}, {2, 3, 1, 0}, {3, 0, 2, 1}}

// browserAccept and browserAcceptEncoding are what Chromium sends when
// it opens a page.
const (
	browserAccept         = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
	browserAcceptEncoding = "gzip, deflate, br, zstd"
)

// clock formats t as a UTC time of day to the millisecond, to match
// against the servers' logs.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

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
