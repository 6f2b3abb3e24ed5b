package work

import (
	"context"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// stuckOrgs is a store whose additions hang until their context ends (a
// statement waiting on a lock, a connection lost without a reset).
type stuckOrgs struct{ ports.Orgs }

func (stuckOrgs) AddVerifications(ctx context.Context, _ string, _ int64) error {
	<-ctx.Done()
	return ctx.Err()
}

func (stuckOrgs) Verifications(context.Context, string) (int64, error) { return 7, nil }

type stuckStore struct{}

func (stuckStore) Orgs() ports.Orgs { return stuckOrgs{} }

// A periodic flush that hangs gives up within its bound, so the usage
// reads waiting for it (Total) answer, and the count stays pending.
func TestStuckFlushDoesNotHoldUsageReads(t *testing.T) {
	tally := NewTally(stuckStore{}, nil, 10*time.Millisecond)
	tally.Count("org")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel() // its final flush then waits its own 10 s bound, in the background
	go tally.Run(ctx)
	time.Sleep(50 * time.Millisecond) // a flush is stuck by now
	answered := make(chan int64, 1)
	go func() {
		n, _ := tally.Total(context.Background(), "org")
		answered <- n
	}()
	select {
	case n := <-answered:
		if n != 8 {
			t.Fatalf("total %d, want 7 stored + 1 pending", n)
		}
	case <-time.After(flushTimeout(10*time.Millisecond) + 3*time.Second):
		t.Fatal("Total still waits for a stuck flush")
	}
}
