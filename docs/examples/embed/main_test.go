package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestEmbedExample(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), filepath.Join(t.TempDir(), "c.db"), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"issued CRD-", "verification: pending", "signature  ok=true", "integrity  ok=true", "mail to rae@example.com", "offline verification: valid"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
