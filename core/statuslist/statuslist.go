// Package statuslist holds the rules of W3C Bitstring Status List v1.0 as
// Credence publishes it: where in a list a credential's status lives, the
// bitstring and its encoding, and the status list credential that carries
// it, written for signing and read back as any verifier reads it.
//
// Each issuer's credentials take places in lists of Size entries; a
// credential has the same index in its list's two bitstrings, one per
// purpose (revocation, suspension). Indexes are handed out in a keyed
// pseudo-random order (Index), so that neighbouring places in a list say
// nothing about when or to whom credentials were issued, and a list fills
// completely without two credentials ever sharing a place.
package statuslist

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// Size is the number of entries of every list Credence creates: the
// specification's minimum (16 KB uncompressed), the herd privacy it asks
// for.
const Size = 131072

// KeySize is the size of a list's ordering key (Index).
const KeySize = 32

// Purpose is what a set bit of a bitstring means.
type Purpose string

// Purposes.
const (
	Revocation Purpose = "revocation"
	Suspension Purpose = "suspension"
)

// Purposes are the bitstrings every list has, in order.
var Purposes = []Purpose{Revocation, Suspension}

// ParsePurpose returns the purpose named s.
func ParsePurpose(s string) (Purpose, bool) {
	p := Purpose(s)
	return p, slices.Contains(Purposes, p)
}

// Index returns the place of the n-th credential (from 0) of a list of
// size entries (a power of two of at least 4) ordered by key: a
// permutation of [0, size), so n below size never meets another n's place.
// It is a four-round Feistel network over the smallest even number of
// bits covering size, with HMAC-SHA256 under key as its round function,
// walking the cycle until the result falls inside the list.
func Index(key []byte, size, n int) (int, error) {
	if size < 4 || size&(size-1) != 0 {
		return 0, fmt.Errorf("status list size %d is not a power of two of at least 4", size)
	}
	if n < 0 || n >= size {
		return 0, fmt.Errorf("status list entry %d is outside a list of %d", n, size)
	}
	bits := 0
	for 1<<bits < size {
		bits++
	}
	half := (bits + 1) / 2
	mask := uint64(1)<<half - 1
	mac := hmac.New(sha256.New, key)
	var in [9]byte
	var sum []byte
	x := uint64(n)
	for {
		l, r := x>>half, x&mask
		for round := range 4 {
			in[0] = byte(round)
			binary.BigEndian.PutUint64(in[1:], r)
			mac.Reset()
			mac.Write(in[:])
			sum = mac.Sum(sum[:0])
			l, r = r, l^(binary.BigEndian.Uint64(sum)&mask)
		}
		x = l<<half | r
		if x < uint64(size) {
			return int(x), nil
		}
	}
}

// Bitstring is a list's bits: entry i is bit 7-i%8 of byte i/8 (the first
// entry is the left-most bit).
type Bitstring []byte

// NewBitstring returns a bitstring of size entries, all clear.
func NewBitstring(size int) Bitstring { return make(Bitstring, (size+7)/8) }

// Set sets entry i.
func (b Bitstring) Set(i int) { b[i/8] |= 0x80 >> (i % 8) }

// Get reports entry i; false beyond the end.
func (b Bitstring) Get(i int) (bool, error) {
	if i < 0 || i/8 >= len(b) {
		return false, fmt.Errorf("index %d is beyond the list's %d entries", i, len(b)*8)
	}
	return b[i/8]&(0x80>>(i%8)) != 0, nil
}

// Encode returns the encodedList: "u" (multibase base64url) and the
// GZIP-compressed bits in base64url without padding.
func (b Bitstring) Encode() string {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b) // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	return "u" + base64.RawURLEncoding.EncodeToString(buf.Bytes())
}

// MaxEntries bounds what Decode inflates: a list of 16 million entries
// (2 MB), far more than any issuer publishes, so that a small hostile
// encodedList cannot make a reader allocate without end.
const MaxEntries = 1 << 24

// Decode reads an encodedList, refusing one that inflates beyond
// MaxEntries or below the specification's minimum of 131,072 entries.
func Decode(s string) (Bitstring, error) {
	data, ok := bytes.CutPrefix([]byte(s), []byte("u"))
	if !ok {
		return nil, errors.New("the encoded list is not multibase base64url (it must start with \"u\")")
	}
	zipped := make([]byte, base64.RawURLEncoding.DecodedLen(len(data)))
	n, err := base64.RawURLEncoding.Decode(zipped, data)
	if err != nil {
		return nil, fmt.Errorf("the encoded list is not base64url: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped[:n]))
	if err != nil {
		return nil, fmt.Errorf("the encoded list is not GZIP data: %w", err)
	}
	bits, err := io.ReadAll(io.LimitReader(zr, MaxEntries/8+1))
	if err != nil {
		return nil, fmt.Errorf("the encoded list is not GZIP data: %w", err)
	}
	switch {
	case len(bits) > MaxEntries/8:
		return nil, fmt.Errorf("the encoded list holds more than %d entries", MaxEntries)
	case len(bits) < Size/8:
		return nil, fmt.Errorf("the encoded list holds %d entries, fewer than the %d the specification requires", len(bits)*8, Size)
	}
	return bits, nil
}

// The JSON-LD context of a status list credential: VCDM 2.0 defines the
// Bitstring Status List terms.
var listContext = []string{"https://www.w3.org/ns/credentials/v2"}

// Credential is a BitstringStatusListCredential: the payload Credence signs
// (with the issuer's key, as a vc+jwt, the JWT claims iss and nbf
// mirroring issuer and validFrom) and serves at its id.
type Credential struct {
	Context           []string `json:"@context"`
	ID                string   `json:"id"`
	Type              []string `json:"type"`
	Issuer            string   `json:"issuer"`
	ValidFrom         string   `json:"validFrom"`
	CredentialSubject Subject  `json:"credentialSubject"`
	Iss               string   `json:"iss"`
	Nbf               int64    `json:"nbf"`
}

// Subject is a BitstringStatusList.
type Subject struct {
	ID            string  `json:"id"`
	Type          string  `json:"type"`
	StatusPurpose Purpose `json:"statusPurpose"`
	EncodedList   string  `json:"encodedList"`
}

// NewCredential returns the status list credential published at url by
// issuer (a DID) for purpose, holding bits, as of now.
func NewCredential(url, issuer string, purpose Purpose, bits Bitstring, now time.Time) Credential {
	now = now.UTC().Truncate(time.Second)
	return Credential{
		Context: listContext, ID: url,
		Type:   []string{"VerifiableCredential", "BitstringStatusListCredential"},
		Issuer: issuer, ValidFrom: now.Format(time.RFC3339),
		CredentialSubject: Subject{ID: url + "#list", Type: "BitstringStatusList", StatusPurpose: purpose, EncodedList: bits.Encode()},
		Iss:               issuer, Nbf: now.Unix(),
	}
}

// Leeway is how far in the future a list's validFrom may be: the clocks
// of the process that published it and the one reading it may differ.
const Leeway = 5 * time.Minute

// Read checks a signed status list credential's payload as a verifier
// that found it at url, following a credential's entry of purpose issued
// by issuer, must, and returns its bits: the credential must be a
// BitstringStatusListCredential whose id is url, issued by issuer (the
// key that signed it is the caller's to check), for purpose, valid at now.
func Read(payload []byte, url, issuer string, purpose Purpose, now time.Time) (Bitstring, error) {
	var c struct {
		Credential
		ValidUntil string `json:"validUntil"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("the status list is not a credential: %w", err)
	}
	switch {
	case !slices.Contains(c.Type, "BitstringStatusListCredential"):
		return nil, errors.New("the status list is not a BitstringStatusListCredential")
	case c.ID != url:
		return nil, fmt.Errorf("the status list found at %s names itself %q", url, c.ID)
	case c.Issuer != issuer:
		return nil, fmt.Errorf("the status list is issued by %q, not by the credential's issuer", c.Issuer)
	case c.CredentialSubject.Type != "BitstringStatusList":
		return nil, errors.New("the status list's subject is not a BitstringStatusList")
	case c.CredentialSubject.StatusPurpose != purpose:
		return nil, fmt.Errorf("the status list's purpose is %q, not %q", c.CredentialSubject.StatusPurpose, purpose)
	}
	if from, err := time.Parse(time.RFC3339, c.ValidFrom); c.ValidFrom != "" && (err != nil || now.Add(Leeway).Before(from)) {
		return nil, errors.New("the status list is not valid yet")
	}
	if until, err := time.Parse(time.RFC3339, c.ValidUntil); c.ValidUntil != "" && (err != nil || !now.Before(until)) {
		return nil, errors.New("the status list has expired")
	}
	return Decode(c.CredentialSubject.EncodedList)
}

// Entry is a credential's BitstringStatusListEntry of one purpose.
type Entry struct {
	ID                   string  `json:"id"`
	Type                 string  `json:"type"`
	StatusPurpose        Purpose `json:"statusPurpose"`
	StatusListIndex      string  `json:"statusListIndex"`
	StatusListCredential string  `json:"statusListCredential"`
}

// NewEntry returns the entry of purpose for the credential at index of the
// list published at url.
func NewEntry(url string, purpose Purpose, index int) Entry {
	i := strconv.Itoa(index)
	return Entry{ID: url + "#" + i, Type: "BitstringStatusListEntry", StatusPurpose: purpose, StatusListIndex: i, StatusListCredential: url}
}

// ParseIndex reads an entry's statusListIndex: a decimal number without
// sign or leading zeros.
func ParseIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0 && strconv.Itoa(n) == s
}
