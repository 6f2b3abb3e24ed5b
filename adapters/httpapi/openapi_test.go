package httpapi_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/credence-dev/credence/adapters/httpapi"
)

// TestOpenAPIDocIsFresh fails when docs/openapi.yaml is not what the code
// generates. Regenerate with `task openapi` (go run ./apps/api openapi).
func TestOpenAPIDocIsFresh(t *testing.T) {
	want, err := httpapi.Spec(false)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "openapi.yaml")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (generate it with: go run ./apps/api openapi > docs/openapi.yaml)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: regenerate it with `go run ./apps/api openapi > docs/openapi.yaml`", path)
	}
}
