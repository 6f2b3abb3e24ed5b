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
