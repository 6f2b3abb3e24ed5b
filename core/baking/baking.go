// Package baking puts a signed credential into a PNG image and takes it
// out again, as Open Badges 3.0 "baking" describes: one iTXt chunk with
// the keyword openbadgecredential whose uncompressed text is the
// credential's compact JWS. It reads and writes PNG chunks only; the
// pixels are never decoded, so a baked file stays byte for byte the image
// it was made from, plus one chunk.
package baking

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Keyword names the iTXt chunk that carries the credential.
const Keyword = "openbadgecredential"

// Limits on what Extract and Bake read. A badge image is at most 1 MB when
// uploaded, and one converted from a JPEG at most 1024 pixels a side
// (images.PNG), so Credence's baked badges stay well below MaxPNGSize;
// the room is for other bakers' images. The credential is a compact JWS of at most 64 KiB, as
// everywhere a JWS is presented.
const (
	MaxPNGSize        = 4 << 20
	MaxCredentialSize = 64 << 10
)

// Signature is the eight bytes every PNG file starts with.
var Signature = []byte("\x89PNG\r\n\x1a\n")

// IsPNG reports whether b starts with the PNG signature.
func IsPNG(b []byte) bool { return bytes.HasPrefix(b, Signature) }

// ErrNoCredential means the PNG is well formed but carries no
// openbadgecredential chunk: an image that was never baked.
var ErrNoCredential = errors.New("the image carries no openbadgecredential iTXt chunk")

// chunk is one PNG chunk as it appears in the file.
type chunk struct {
	typ  string
	data []byte
	raw  []byte // length, type, data and CRC, as read
}

// chunks splits a PNG file into its chunks, checking the signature, every
// length and CRC, that IHDR comes first and IEND last, and that nothing
// follows IEND.
func chunks(png []byte) ([]chunk, error) {
	if len(png) > MaxPNGSize {
		return nil, fmt.Errorf("the PNG is larger than %d bytes", MaxPNGSize)
	}
	if !IsPNG(png) {
		return nil, errors.New("not a PNG file (no PNG signature)")
	}
	var out []chunk
	rest := png[len(Signature):]
	for len(rest) > 0 {
		if len(rest) < 12 {
			return nil, errors.New("the PNG ends inside a chunk header")
		}
		n := binary.BigEndian.Uint32(rest[:4])
		if n > 1<<31-1 || uint64(n)+12 > uint64(len(rest)) {
			return nil, errors.New("a PNG chunk is longer than the file")
		}
		typ := rest[4:8]
		for _, c := range typ {
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
				return nil, errors.New("a PNG chunk type is not four letters")
			}
		}
		data := rest[8 : 8+n]
		if crc32.ChecksumIEEE(rest[4:8+n]) != binary.BigEndian.Uint32(rest[8+n:12+n]) {
			return nil, fmt.Errorf("the CRC of a %s chunk does not match its content", typ)
		}
		out = append(out, chunk{typ: string(typ), data: data, raw: rest[:12+n]})
		rest = rest[12+n:]
		if string(typ) == "IEND" && len(rest) > 0 {
			return nil, errors.New("bytes follow the PNG's IEND chunk")
		}
	}
	if len(out) == 0 || out[0].typ != "IHDR" {
		return nil, errors.New("the PNG does not start with an IHDR chunk")
	}
	if out[len(out)-1].typ != "IEND" {
		return nil, errors.New("the PNG does not end with an IEND chunk")
	}
	return out, nil
}

// itxt is a parsed iTXt chunk.
type itxt struct {
	keyword    string
	compressed bool
	text       []byte
}

// parseITXt reads an iTXt chunk: keyword NUL, compression flag,
// compression method, language tag NUL, translated keyword NUL, text.
func parseITXt(data []byte) (itxt, error) {
	kw, rest, ok := bytes.Cut(data, []byte{0})
	if !ok || len(kw) == 0 || len(kw) > 79 {
		return itxt{}, errors.New("an iTXt chunk has no valid keyword")
	}
	if len(rest) < 2 {
		return itxt{}, errors.New("an iTXt chunk ends after its keyword")
	}
	flag, method := rest[0], rest[1]
	if flag > 1 || method != 0 {
		return itxt{}, errors.New("an iTXt chunk has an unknown compression flag or method")
	}
	_, rest, ok = bytes.Cut(rest[2:], []byte{0}) // language tag
	if !ok {
		return itxt{}, errors.New("an iTXt chunk has no language tag terminator")
	}
	_, text, ok := bytes.Cut(rest, []byte{0}) // translated keyword
	if !ok {
		return itxt{}, errors.New("an iTXt chunk has no translated keyword terminator")
	}
	return itxt{keyword: string(kw), compressed: flag == 1, text: text}, nil
}

// Extract returns the credential baked into png: the text of its one
// openbadgecredential iTXt chunk. A file that is not a well-formed PNG
// (signature, chunk lengths, CRCs, IHDR first, IEND last), that carries
// that chunk more than once, compressed (the specification forbids it) or
// longer than MaxCredentialSize, is an error; a PNG without the chunk is
// ErrNoCredential.
func Extract(png []byte) (string, error) {
	cs, err := chunks(png)
	if err != nil {
		return "", err
	}
	var found *itxt
	for _, c := range cs {
		if c.typ != "iTXt" {
			continue
		}
		t, err := parseITXt(c.data)
		if err != nil {
			return "", err
		}
		if t.keyword != Keyword {
			continue
		}
		if found != nil {
			return "", errors.New("the image carries more than one openbadgecredential chunk")
		}
		found = &t
	}
	switch {
	case found == nil:
		return "", ErrNoCredential
	case found.compressed:
		return "", errors.New("the openbadgecredential chunk is compressed, which Open Badges baking forbids")
	case len(found.text) == 0:
		return "", errors.New("the openbadgecredential chunk is empty")
	case len(found.text) > MaxCredentialSize:
		return "", fmt.Errorf("the openbadgecredential chunk is longer than %d bytes", MaxCredentialSize)
	}
	return string(found.text), nil
}

// Bake returns png with credential (a compact JWS) in an
// openbadgecredential iTXt chunk placed right after IHDR, replacing any
// such chunk already there: a badge carries one credential. png must be a
// well-formed PNG (as Extract reads it).
func Bake(png []byte, credential string) ([]byte, error) {
	if credential == "" || len(credential) > MaxCredentialSize {
		return nil, fmt.Errorf("the credential must be 1 to %d bytes", MaxCredentialSize)
	}
	cs, err := chunks(png)
	if err != nil {
		return nil, err
	}
	var data []byte
	data = append(data, Keyword...)
	data = append(data, 0, 0, 0) // keyword terminator, no compression, method 0
	data = append(data, 0, 0)    // empty language tag, empty translated keyword
	data = append(data, credential...)

	out := make([]byte, 0, len(png)+len(data)+12)
	out = append(out, Signature...)
	for i, c := range cs {
		if c.typ == "iTXt" {
			if t, err := parseITXt(c.data); err == nil && t.keyword == Keyword {
				continue
			}
		}
		out = append(out, c.raw...)
		if i == 0 {
			out = appendChunk(out, "iTXt", data)
		}
	}
	return out, nil
}

// appendChunk appends a chunk of type typ holding data, with its CRC.
func appendChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}
