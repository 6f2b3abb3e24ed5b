package accounts

import (
	"sync"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// maxCachedKeys bounds the API keys one process remembers.
const maxCachedKeys = 4096

// keyCache remembers the API keys Authenticate looked up, by the SHA-256
// of their secret, for ttl: a client sending many requests costs one
// database read per ttl instead of one per request. Whatever can change in
// a remembered key is checked again on every use that matters:
//   - expiry: Active is evaluated at each request, against the clock;
//   - revocation and regeneration through this process: the organization
//     service calls ForgetAPIKeys after its transaction commits, which
//     empties the cache, and a lookup that was under way when it did does
//     not store what it read (the generation moved);
//   - revocation through another replica: seen within ttl.
//
// A zero ttl turns the cache off.
type keyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	gen uint64
	m   map[[32]byte]cachedKey
}

type cachedKey struct {
	key   domain.APIKey
	until time.Time
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: map[[32]byte]cachedKey{}}
}

// get returns the key remembered for hash, if any is still fresh at now,
// and the generation a lookup of a missing key must pass to put.
func (c *keyCache) get(hash []byte, now time.Time) (domain.APIKey, bool, uint64) {
	if c.ttl <= 0 || len(hash) != 32 {
		return domain.APIKey{}, false, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[[32]byte(hash)]
	if !ok || !now.Before(e.until) {
		return domain.APIKey{}, false, c.gen
	}
	return e.key, true, c.gen
}

// put remembers k until now+ttl, unless the cache was emptied since the
// lookup began (gen).
func (c *keyCache) put(k domain.APIKey, now time.Time, gen uint64) {
	if c.ttl <= 0 || len(k.SecretHash) != 32 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedKeys {
		for h, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, h)
			}
		}
		if len(c.m) >= maxCachedKeys {
			clear(c.m)
		}
	}
	c.m[[32]byte(k.SecretHash)] = cachedKey{key: k, until: now.Add(c.ttl)}
}

// touched records that k's last use was written at at, so the remembered
// copy does not ask for the write again.
func (c *keyCache) touched(k domain.APIKey, at time.Time) {
	if c.ttl <= 0 || len(k.SecretHash) != 32 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[[32]byte(k.SecretHash)]; ok {
		e.key.LastUsedAt = &at
		c.m[[32]byte(k.SecretHash)] = e
	}
}

// forget empties the cache and moves its generation on.
func (c *keyCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}
