package httpapi

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"reflect"
	"sync"
	"time"
)

// A credential's page and card are a pure function of what their
// templates are given: the webView (title, description, policy, the
// signed-in user, the form token) and the page's data, worked out from
// the store on every request. Rendering it with html/template (reflection
// and escaping, field by field) cost as much again as the verification it
// shows, so the rendered bytes are kept, by a digest of that input:
// whatever changes what the page would say (a revocation, an expiry, an
// issuer's suspension, a name, an image, a check's detail, a signed-in
// viewer) changes the digest, and the page is rendered afresh. Nothing
// is ever invalidated: an entry that no request names any more is
// evicted as the least recently used.
//
// Only pages without a signed-in user and without a CSRF token are kept:
// those are the same for every visitor. What differs per request (the
// Date header, a cookie) is in the headers, which are never kept.

// A kept page is kept gzipped as well, compressed once: a credential's
// page shrinks to a third (7 KiB to 2.3 KiB), which a browser on a slow
// link notices, and which the server sends in one write to the
// connection instead of two (net/http buffers 4 KiB of an answer).
//
// pageCacheEntries and pageCacheBytes bound the cache: a credential's
// page is 7 KiB or so plus 2.3 KiB gzipped, a card 1 KiB, so it holds the
// thousand or more most viewed pages in 16 MiB at most.
const (
	pageCacheEntries = 4096
	pageCacheBytes   = 16 << 20
	// maxCachedPage leaves out a page too large to be worth the room
	// of the many small ones it would evict.
	maxCachedPage = 256 << 10
)

// pageKey is the digest of what a page is rendered from.
type pageKey [sha256.Size]byte

// pageCache holds rendered pages by pageKey, least recently used first
// out. It is safe for concurrent use; the bodies it returns are shared
// and must not be changed.
type pageCache struct {
	mu         sync.Mutex
	entries    map[pageKey]*list.Element
	order      list.List // of *pageEntry, most recently used first
	size       int       // the bytes of the bodies held
	maxEntries int
	maxBytes   int
}

type pageEntry struct {
	key  pageKey
	page *keptPage
}

// keptPage is a rendered page, and the same gzipped (nil when gzip would
// not make it smaller).
type keptPage struct {
	body, gz []byte
}

// size is the bytes p holds.
func (p *keptPage) size() int { return len(p.body) + len(p.gz) }

// gzipWriters are the compressors of newKeptPage, kept between pages: a
// fresh one allocates some 700 KB of tables on its first write.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// newKeptPage takes body (which the page now owns) and gzips it.
func newKeptPage(body []byte) *keptPage {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	_, _ = zw.Write(body)
	if zw.Close() != nil || buf.Len() >= len(body) {
		return &keptPage{body: body}
	}
	return &keptPage{body: body, gz: bytes.Clone(buf.Bytes())} // no spare capacity held
}

func newPageCache(maxEntries, maxBytes int) *pageCache {
	return &pageCache{entries: map[pageKey]*list.Element{}, maxEntries: maxEntries, maxBytes: maxBytes}
}

// get returns the page kept under key.
func (c *pageCache) get(key pageKey) (*keptPage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*pageEntry).page, true
}

// put keeps p under key, evicting the least recently used pages past the
// bounds.
func (c *pageCache) put(key pageKey, p *keptPage) {
	if len(p.body) > maxCachedPage || p.size() > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return // rendered at once by another request: the same bytes
	}
	c.entries[key] = c.order.PushFront(&pageEntry{key: key, page: p})
	c.size += p.size()
	for len(c.entries) > c.maxEntries || c.size > c.maxBytes {
		last := c.order.Back()
		old := c.order.Remove(last).(*pageEntry)
		delete(c.entries, old.key)
		c.size -= old.page.size()
	}
}

// len is the number of pages held.
func (c *pageCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// pageKeyOf is the digest of a page's name and everything its templates
// read of v, data included, by a walk of their values; ok is false when
// v holds a value the walk cannot encode exactly (a map, whose order is
// not fixed; a func, a channel), and the page is then not cached.
//
// The walk encodes each value so that no two different inputs encode
// alike: strings and lists carry their length, pointers and interfaces
// whether they are nil (an interface also its dynamic type), times their
// instant and zone. It costs a few microseconds, a small part of a
// render.
//
// v is what the page is rendered from: its webView, or a value the view
// is built from deterministically (renderCachedBy); its type is part of
// the key, so that the two never meet.
func pageKeyOf(page string, v any) (key pageKey, ok bool) {
	enc := keyEncoders.Get().(*keyEncoder)
	defer enc.put()
	rv := reflect.ValueOf(v)
	enc.b = appendKeyString(enc.b[:0], page)
	enc.b = appendKeyString(enc.b, rv.Type().String())
	if !enc.value(rv) {
		return key, false
	}
	return sha256.Sum256(enc.b), true
}

// keyEncoder is the buffer a key's input is encoded into, kept between
// requests.
type keyEncoder struct{ b []byte }

var keyEncoders = sync.Pool{New: func() any { return &keyEncoder{b: make([]byte, 0, 4096)} }}

// put gives e back to keyEncoders, unless an unusually large input grew
// it past what is worth keeping.
func (e *keyEncoder) put() {
	if cap(e.b) <= maxPooledRender {
		keyEncoders.Put(e)
	}
}

var timeType = reflect.TypeFor[time.Time]()

// value appends v's encoding; false when v cannot be encoded.
func (e *keyEncoder) value(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		e.b = appendKeyString(e.b, v.String())
	case reflect.Bool:
		if v.Bool() {
			e.b = append(e.b, 1)
		} else {
			e.b = append(e.b, 0)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.b = binary.AppendVarint(e.b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.b = binary.AppendUvarint(e.b, v.Uint())
	case reflect.Float32, reflect.Float64:
		e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v.Float()))
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			e.b = append(e.b, 0)
			return true
		}
		e.b = append(e.b, 1)
		if v.Kind() == reflect.Interface {
			// Two types may hold the same fields and still be shown
			// apart by a template.
			e.b = appendKeyString(e.b, v.Elem().Type().String())
		}
		return e.value(v.Elem())
	case reflect.Slice, reflect.Array:
		e.b = binary.AppendUvarint(e.b, uint64(v.Len()))
		for i := range v.Len() {
			if !e.value(v.Index(i)) {
				return false
			}
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if !v.CanInterface() {
				return false
			}
			// The instant, and the zone a template printing the
			// time as it is would show.
			t := v.Interface().(time.Time)
			name, offset := t.Zone()
			e.b = binary.AppendVarint(e.b, t.Unix())
			e.b = binary.AppendVarint(e.b, int64(t.Nanosecond()))
			e.b = binary.AppendVarint(e.b, int64(offset))
			e.b = appendKeyString(e.b, name)
			return true
		}
		for i := range v.NumField() {
			if !e.value(v.Field(i)) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

func appendKeyString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
