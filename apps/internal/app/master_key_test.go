package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMasterKeyConcurrentFirstStarts starts several processes' worth of
// MasterKey calls at once on a fresh data dir, as apps/api and apps/worker
// do on a first start: exactly one generates the key, every caller gets
// that key, and master.key holds it (a second key overwriting the first
// would leave signing keys encrypted under a key no one has).
func TestMasterKeyConcurrentFirstStarts(t *testing.T) {
	concurrentFirstStarts(t)
}

// On a file system without hard links the key file is created
// exclusively instead, with the same outcome.
func TestMasterKeyWithoutHardLinks(t *testing.T) {
	linkFile = func(string, string) error { return &os.LinkError{Op: "link", Err: syscall.EPERM} }
	t.Cleanup(func() { linkFile = os.Link })
	concurrentFirstStarts(t)
}

func concurrentFirstStarts(t *testing.T) {
	const callers, rounds = 8, 20
	for range rounds {
		dir := t.TempDir()
		cfg := Config{DataDir: dir}
		var logs bytes.Buffer // slog's handler serializes writes
		log := newTestLogger(&logs)

		keys := make([][]byte, callers)
		errs := make([]error, callers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				keys[i], errs[i] = cfg.MasterKey(log)
			})
		}
		close(start)
		wg.Wait()

		for i, err := range errs {
			if err != nil {
				t.Fatalf("caller %d: %v", i, err)
			}
		}
		for i, k := range keys {
			if len(k) != 32 || !bytes.Equal(k, keys[0]) {
				t.Fatalf("caller %d got another key than caller 0: a key was overwritten", i)
			}
		}
		raw, err := os.ReadFile(filepath.Join(dir, "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		if onDisk, err := decodeKey(string(raw)); err != nil || !bytes.Equal(onDisk, keys[0]) {
			t.Fatalf("master.key does not hold the key the callers got (%v)", err)
		}
		if n := strings.Count(logs.String(), "generated a new master key"); n != 1 {
			t.Fatalf("%d callers generated a key, want 1", n)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("data dir holds %v, want master.key alone (temporary files left behind)", names)
		}
	}
}

// A key file that stays unreadable (a crash left it partly written) stops
// the start with an error saying what may be done, after a wait.
func TestMasterKeyPartlyWritten(t *testing.T) {
	winnerWait = 200 * time.Millisecond
	t.Cleanup(func() { winnerWait = 5 * time.Second })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "master.key"), []byte("c2VjcmV0"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Config{DataDir: dir}.MasterKey(newTestLogger(&bytes.Buffer{}))
	if err == nil || !strings.Contains(err.Error(), "may be deleted") {
		t.Fatalf("MasterKey on a partly written file: %v", err)
	}
	if waited := time.Since(start); waited < winnerWait {
		t.Errorf("gave up after %s, want a wait of %s for a concurrent writer", waited, winnerWait)
	}
}
