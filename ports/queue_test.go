package ports_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

func TestDefaultRetryDelay(t *testing.T) {
	for _, c := range []struct {
		attempt int
		base    time.Duration
	}{
		{-1, time.Second}, {0, time.Second}, {1, time.Second}, {2, 2 * time.Second},
		{5, 16 * time.Second}, {10, 512 * time.Second}, {11, 10 * time.Minute},
		{64, 10 * time.Minute}, {1 << 30, 10 * time.Minute},
	} {
		for range 100 {
			d := ports.DefaultRetryDelay(c.attempt)
			if lo, hi := c.base*8/10, c.base*12/10; d < lo || d > hi {
				t.Fatalf("DefaultRetryDelay(%d) = %v, want within [%v, %v]", c.attempt, d, lo, hi)
			}
		}
	}
}

func TestTaskHandlerCall(t *testing.T) {
	boom := errors.New("boom")
	if err := ports.TaskHandler(func(context.Context, ports.Task) error { return boom }).Call(t.Context(), ports.Task{}); err != boom {
		t.Fatalf("error: got %v, want %v", err, boom)
	}
	err := ports.TaskHandler(func(context.Context, ports.Task) error { panic("oops") }).Call(t.Context(), ports.Task{})
	var pe *ports.PanicError
	if !errors.As(err, &pe) || pe.Value != "oops" || !strings.Contains(string(pe.Stack), "TestTaskHandlerCall") {
		t.Fatalf("panic: got %v", err)
	}
}
