package credentials

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

// Cache sizes: a verified signature costs its parsed document and the
// signed bytes it was checked for (about 2 KB each), a key a few hundred
// bytes.
const (
	signatureCacheSize = 8192
	keyCacheSize       = 1024
	// listCacheSize bounds the status lists kept: 256 of 16 KB each.
	listCacheSize = 256
)

// verified is a signature check that passed: who signed (the kid, its
// key's algorithm and organization) and the document the signature
// covers, parsed (docErr: the payload is no credential document).
//
// A stored credential's is kept by its ID with the very bytes checked
// (jws): the stored JWS never changes, so a signature found good for
// these bytes stays good; it is reused only for a record whose JWS is
// byte for byte the same (comparing them costs less than hashing them),
// and bytes changed in the database are checked afresh. A kept entry
// also holds the passed check's two wordings (the key active or retired,
// told afresh on every verification) and the last integrity comparison
// (see integrityMemo).
type verified struct {
	orgID    string
	kid      string
	fragment string
	alg      domain.Algorithm
	doc      Document
	docErr   bool
	// contradictions are doc's JWT claims that contradict its members
	// (Document.ClaimMismatches), worked out once with the document.
	contradictions []string

	jws                       string
	activeCheck, retiredCheck domain.Check
	integrity                 atomic.Pointer[integrityMemo]
}

// integrityMemo is the outcome of comparing a kept signed document with
// the record (URLs.Mismatches) and the record's fields that comparison
// reads. The record may change at any time, so the fields are compared
// afresh on every verification and the outcome reused only when they are
// all the same; TestIntegrityMemoIsExact changes every field of the
// record in turn to keep this list complete.
type integrityMemo struct {
	in  integrityInputs
	bad []string
}

// integrityInputs are the fields of a credential, its organization and
// its badge that URLs.Differences builds the expected document from (a
// few, such as the issuer's name, it then does not compare: a change to
// them only costs a fresh comparison).
type integrityInputs struct {
	id                              domain.CredentialID
	issuedAt, expiresAt             time.Time
	expires, test                   bool
	recipientName, recipientEmail   string
	orgSlug, orgName, orgWebsite    string
	badgeName, badgeSlug, badgeDesc string
	badgeCriteria, badgeImage       string
	badgeTags                       []string
	slot                            domain.StatusSlot
	placed                          bool
}

func integrityInputsOf(c domain.Credential, org domain.Organization, badge domain.Badge) integrityInputs {
	in := integrityInputs{id: c.ID, issuedAt: c.IssuedAt, test: c.Test, recipientName: c.RecipientName,
		recipientEmail: c.RecipientEmail, orgSlug: org.Slug, orgName: org.Name, orgWebsite: org.WebsiteURL,
		badgeName: badge.Name, badgeSlug: badge.Slug, badgeDesc: badge.Description, badgeCriteria: badge.Criteria,
		badgeImage: badge.ImageURL, badgeTags: badge.Tags}
	if c.ExpiresAt != nil {
		in.expires, in.expiresAt = true, *c.ExpiresAt
	}
	if c.Slot != nil {
		in.placed, in.slot = true, *c.Slot
	}
	return in
}

// equal reports whether a and b are the same inputs: the same instants
// (the document writes them in UTC) and the same strings.
func (a integrityInputs) equal(b integrityInputs) bool {
	return a.id == b.id && a.issuedAt.Equal(b.issuedAt) && a.expires == b.expires && a.expiresAt.Equal(b.expiresAt) &&
		a.test == b.test && a.recipientName == b.recipientName && a.recipientEmail == b.recipientEmail &&
		a.orgSlug == b.orgSlug && a.orgName == b.orgName && a.orgWebsite == b.orgWebsite &&
		a.badgeName == b.badgeName && a.badgeSlug == b.badgeSlug && a.badgeDesc == b.badgeDesc &&
		a.badgeCriteria == b.badgeCriteria && a.badgeImage == b.badgeImage && slices.Equal(a.badgeTags, b.badgeTags) &&
		a.placed == b.placed && a.slot == b.slot
}

// issuerKeyID names an organization's key by its fragment. A key is never
// changed once made (rotation adds a key and retires the old one), so its
// public half can be kept; a key not found is not kept, so a new one is
// found at once.
type issuerKeyID struct{ orgID, fragment string }

type verifyCaches struct {
	signatures *boundedCache[domain.CredentialID, *verified]
	keys       *boundedCache[issuerKeyID, *signing.PublicKey]
	// lists are status lists read and checked (listBit).
	lists *boundedCache[listKey, *listMemo]
}

func newVerifyCaches() verifyCaches {
	return verifyCaches{
		signatures: newBoundedCache[domain.CredentialID, *verified](signatureCacheSize),
		keys:       newBoundedCache[issuerKeyID, *signing.PublicKey](keyCacheSize),
		lists:      newBoundedCache[listKey, *listMemo](listCacheSize),
	}
}
