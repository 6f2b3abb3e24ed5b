package credentials

import (
	"fmt"
	"testing"

	"github.com/credence-dev/credence/core/domain"
)

// The caches of verification are bounded: however many credentials are
// verified, they hold at most their size, and an entry in use stays.
func TestBoundedCacheIsBounded(t *testing.T) {
	t.Parallel()
	const size = 100
	c := newBoundedCache[int, int](size)
	c.put(-1, -1) // kept in use below
	for i := range 10 * size {
		c.put(i, i)
		if _, ok := c.get(-1); !ok {
			t.Fatalf("the entry in use was dropped after %d others", i+1)
		}
		if n := c.len(); n > size {
			t.Fatalf("%d entries after %d puts, want at most %d", n, i+2, size)
		}
	}
	if _, ok := c.get(0); ok {
		t.Error("the oldest unused entry is still there")
	}
	if v, ok := c.get(10*size - 1); !ok || v != 10*size-1 {
		t.Errorf("the newest entry: %d %v", v, ok)
	}
}

// The service's caches are bounded caches of the sizes declared.
func TestVerifyCachesAreBounded(t *testing.T) {
	t.Parallel()
	c := newVerifyCaches()
	if c.signatures.half*2 != signatureCacheSize || c.keys.half*2 != keyCacheSize {
		t.Fatalf("signature cache of %d, key cache of %d", c.signatures.half*2, c.keys.half*2)
	}
	for i := range 3 * signatureCacheSize {
		c.signatures.put(domain.CredentialID(fmt.Sprintf("CRD-%d", i)), &verified{})
	}
	if n := c.signatures.len(); n > signatureCacheSize {
		t.Fatalf("%d signatures kept, want at most %d", n, signatureCacheSize)
	}
}
