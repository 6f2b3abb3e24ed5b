package accounts

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

func cacheKey(i int) domain.APIKey {
	h := sha256.Sum256(fmt.Appendf(nil, "key %d", i))
	return domain.APIKey{ID: fmt.Sprint(i), SecretHash: h[:]}
}

// A lookup under way when the cache is emptied (a revocation committed)
// does not store what it read before the revocation.
func TestKeyCacheDropsALookupOlderThanAForget(t *testing.T) {
	c := newKeyCache(time.Minute)
	now := time.Now()
	k := cacheKey(1)
	_, ok, gen := c.get(k.SecretHash, now)
	if ok {
		t.Fatal("an empty cache has the key")
	}
	c.forget() // the revocation commits while the lookup reads the row
	c.put(k, now, gen)
	if _, ok, _ := c.get(k.SecretHash, now); ok {
		t.Fatal("a lookup older than the forget was stored")
	}
	_, _, gen = c.get(k.SecretHash, now)
	c.put(k, now, gen)
	if _, ok, _ := c.get(k.SecretHash, now); !ok {
		t.Fatal("a lookup after the forget was not stored")
	}
}

// The cache never holds more than maxCachedKeys keys.
func TestKeyCacheIsBounded(t *testing.T) {
	c := newKeyCache(time.Minute)
	now := time.Now()
	for i := range 3 * maxCachedKeys {
		k := cacheKey(i)
		_, _, gen := c.get(k.SecretHash, now)
		c.put(k, now, gen)
		if len(c.m) > maxCachedKeys {
			t.Fatalf("%d keys cached, bound %d", len(c.m), maxCachedKeys)
		}
	}
}
