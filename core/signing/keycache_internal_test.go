package signing

import (
	"testing"

	"github.com/credence-dev/credence/core/domain"
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
