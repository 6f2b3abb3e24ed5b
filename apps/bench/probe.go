package main

import (
	"sync"
	"time"
)

// stallProbe watches for stand-stills while a measurement runs: a
// goroutine of this process sleeps a millisecond at a time and records
// the longest it overslept. It does nothing else, so a long oversleep is
// time in which the machine, or this process (its garbage collector, its
// share of a saturated machine), ran nothing of it: a latency spike at
// the same instant is not the server's. On the 2-core machines this
// project is measured on, the same loop run as a process of its own, with
// nothing else running, saw the machine freeze for 10–73 ms every two
// minutes.
type stallProbe struct {
	done  chan struct{}
	wg    sync.WaitGroup
	worst time.Duration
	at    time.Time
}

// probeTick is the probe's sleep.
const probeTick = time.Millisecond

// startProbe starts a probe; stop ends it.
func startProbe() *stallProbe {
	p := &stallProbe{done: make(chan struct{})}
	p.wg.Go(func() {
		for {
			select {
			case <-p.done:
				return
			default:
			}
			from := time.Now()
			time.Sleep(probeTick)
			if over := time.Since(from) - probeTick; over > p.worst {
				p.worst, p.at = over, from
			}
		}
	})
	return p
}

// stop ends the probe and returns its longest oversleep and when it
// began (read after the goroutine has ended).
func (p *stallProbe) stop() (time.Duration, time.Time) {
	close(p.done)
	p.wg.Wait()
	return p.worst, p.at
}
