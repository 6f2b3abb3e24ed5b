package signing

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/domain"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// The key cache never holds more than keyCacheSize keys, and what it
// dropped is parsed again when asked for.
func TestKeyCacheIsBounded(t *testing.T) {
	pub, _, err := Generate(domain.AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	first := append([]byte(" "), pub...)
	k1, err := ParsePublicKey(first, domain.AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	// The same key spelled with n leading spaces is another entry.
	for n := 2; n < keyCacheSize+100; n++ {
		if _, err := ParsePublicKey(append(spacePrefix(n), pub...), domain.AlgEdDSA); err != nil {
			t.Fatal(err)
		}
	}
	keyCache.RLock()
	n, total := keyCache.n, 0
	for _, m := range keyCache.byAlg {
		total += len(m)
	}
	keyCache.RUnlock()
	if n > keyCacheSize || total != n {
		t.Fatalf("cache holds %d keys (counted %d), bound %d", total, n, keyCacheSize)
	}
	again, err := ParsePublicKey(first, domain.AlgEdDSA)
	if err != nil || again.Algorithm() != k1.Algorithm() {
		t.Fatalf("a dropped key parsed again: %v", err)
	}
}

func spacePrefix(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = ' '
	}
	return b
}

// A large JWK (an unknown member of a megabyte: a published key set is
// anyone's input) costs the cache its digest, not its size.
func TestKeyCacheKeepsNoJWKBytes(t *testing.T) {
	pub, _, err := Generate(domain.AlgEdDSA)
	if err != nil {
		t.Fatal(err)
	}
	keyCache.Lock() // empty, so that no eviction hides what it keeps
	clear(keyCache.byAlg)
	keyCache.n = 0
	keyCache.Unlock()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const keys, pad = 64, 1 << 20
	for i := range keys {
		big := append([]byte(fmt.Sprintf(`{"x-pad%d":"%s",`, i, strings.Repeat("a", pad))), pub[1:]...)
		if _, err := ParsePublicKey(big, domain.AlgEdDSA); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d KiB", grew>>10)
	if grew > keys*pad/8 {
		t.Fatalf("the heap grew by %d MiB after caching %d keys of 1 MiB JWKs", grew>>20, keys)
	}
}

// An RSA key shorter than 2048 bits is refused.
func TestShortRSAKeyRefused(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jwk.FromRaw(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey(b, domain.AlgRS256); err == nil {
		t.Fatal("a 1024-bit RSA key was accepted")
	}
}
