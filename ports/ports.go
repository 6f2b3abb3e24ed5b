// Package ports declares the interfaces the core drives (stores, mail,
// clock, key encryption) in domain terms. It holds no implementations.
package ports

import (
	"context"
	"time"
)

// Clock tells the time; tests inject a fixed or moving one.
type Clock interface {
	Now() time.Time
}

// Message is one email.
type Message struct {
	To      string
	Subject string
	Text    string
	// HTML is optional. When set, the message is multipart/alternative
	// with Text and HTML, so a reader without HTML still gets Text.
	HTML string
}

// Mailer sends email. Send is called after the change that caused the mail
// has committed, never inside a transaction. An error wrapping
// ErrPermanent means no retry can deliver the message (a recipient the
// server rejects, a malformed address); other errors are worth retrying.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// KeyCipher encrypts private signing keys at rest.
type KeyCipher interface {
	Encrypt(plaintext []byte) ([]byte, error)
	Decrypt(ciphertext []byte) ([]byte, error)
}

// Canonicalizer turns JSON-LD documents into canonical RDF, as Data
// Integrity proofs sign them.
type Canonicalizer interface {
	// Canonicalize returns the RDFC-1.0 canonical N-Quads of doc (a JSON-LD
	// document), its contexts read from copies the adapter holds (never
	// fetched). A document naming another context, or with a member no
	// context defines (JSON-LD safe mode), is refused.
	Canonicalize(doc []byte) ([]byte, error)
}

// TermChecker checks the terms of JSON-LD documents callers write, as
// the VC-API's issuing does before signing one.
type TermChecker interface {
	// CheckTerms expands doc in JSON-LD safe mode over the contexts the
	// adapter holds, without canonicalizing: a context it does not hold,
	// a redefined protected term, a member that expands to no IRI, or a
	// type or id that is no absolute IRI once expanded is an error.
	CheckTerms(doc []byte) error
}
