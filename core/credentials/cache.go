package credentials

import (
	"crypto/sha256"
	"sync"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// boundedCache keeps at most max entries in two generations: entries are
// added to the young one; when it holds max/2 the old one is dropped and
// the young one becomes old. A hit in the old generation moves the entry
// back to the young one, so what is used stays, what is not ages out, and
// no entry costs more than a map slot (no list to maintain per hit).
type boundedCache[K comparable, V any] struct {
	mu         sync.Mutex
	young, old map[K]V
	half       int
}

func newBoundedCache[K comparable, V any](size int) *boundedCache[K, V] {
	half := max(size/2, 1)
	return &boundedCache[K, V]{young: make(map[K]V, half), old: map[K]V{}, half: half}
}

func (c *boundedCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.young[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		delete(c.old, k)
		c.addLocked(k, v)
	}
	return v, ok
}

func (c *boundedCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.old, k)
	c.addLocked(k, v)
}

func (c *boundedCache[K, V]) addLocked(k K, v V) {
	if _, ok := c.young[k]; !ok && len(c.young) >= c.half {
		c.old, c.young = c.young, make(map[K]V, c.half)
	}
	c.young[k] = v
}

// len returns how many entries the cache holds.
func (c *boundedCache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.young) + len(c.old)
}

// Cache sizes: a verified signature costs its parsed document (about
// 2 KB), a key a few hundred bytes.
const (
	signatureCacheSize = 8192
	keyCacheSize       = 1024
)

// verifiedKey names a stored credential's signed bytes: its ID and the
// SHA-256 of its JWS. The stored JWS never changes, so a signature found
// good for these bytes stays good; bytes changed in the database are
// another key, checked afresh.
type verifiedKey struct {
	id  domain.CredentialID
	sum [sha256.Size]byte
}

// verified is a signature check that passed: who signed (the kid, its
// key's algorithm and organization) and the document the signature
// covers, parsed (docErr: the payload is no credential document).
type verified struct {
	orgID    string
	kid      string
	fragment string
	alg      domain.Algorithm
	doc      Document
	docErr   bool
}

// issuerKeyID names an organization's key by its fragment. A key is never
// changed once made (rotation adds a key and retires the old one), so its
// public half can be kept; a key not found is not kept, so a new one is
// found at once.
type issuerKeyID struct{ orgID, fragment string }

type verifyCaches struct {
	signatures *boundedCache[verifiedKey, *verified]
	keys       *boundedCache[issuerKeyID, *signing.PublicKey]
}

func newVerifyCaches() verifyCaches {
	return verifyCaches{
		signatures: newBoundedCache[verifiedKey, *verified](signatureCacheSize),
		keys:       newBoundedCache[issuerKeyID, *signing.PublicKey](keyCacheSize),
	}
}
