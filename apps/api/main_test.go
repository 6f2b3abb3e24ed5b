package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/contract-tests/harness"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var listenRE = regexp.MustCompile(`addr=(127\.0\.0\.1:\d+)`)

// TestServeShutsDownGracefully starts the real server, answers a request
// and returns nil once its context ends (SIGTERM in main).
func TestServeShutsDownGracefully(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &harness.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{"CREDENCE_HTTP_ADDR": "127.0.0.1:0", "CREDENCE_DATA_DIR": dir}), io.Discard, logs)
	}()
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listenRE.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	if !strings.Contains(logs.String(), "CREDENCE_PUBLIC_URL is not https") {
		t.Errorf("no warning that the default http public URL leaves did:web unresolvable:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("no shutdown log:\n%s", logs.String())
	}
}

func TestOpenAPICommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"openapi"}, env(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "components:") && !strings.Contains(out.String(), "openapi: 3.1") {
		t.Fatalf("not an OpenAPI document: %.200s", out.String())
	}
	if err := run(context.Background(), []string{"bogus"}, env(nil), &out, io.Discard); err == nil {
		t.Fatal("an unknown command was accepted")
	}
}
