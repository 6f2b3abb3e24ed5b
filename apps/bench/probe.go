package main

import (
	"runtime"
	"sync"
	"time"
)

// stallProbe watches for the machine standing still while an open-loop
// phase runs: on an OS thread of its own it sleeps a millisecond at a
// time, and records the longest it overslept. It does nothing else, so a
// long oversleep is time the whole machine (or this process) was not
// running anything: a latency spike of the server at the same instant is
// the machine's, not the server's. On the 2-core machines this project
// is measured on, an idle probe saw the machine freeze for 10–73 ms every
// two minutes with nothing else running.
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
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
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
// began.
func (p *stallProbe) stop() (time.Duration, time.Time) {
	close(p.done)
	p.wg.Wait()
	return p.worst, p.at
}
