package signing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// MasterKeySize is the size of the master key: AES-256.
const MasterKeySize = 32

// Cipher encrypts private keys with AES-256-GCM. A ciphertext is
// version byte (1) || 12-byte nonce || sealed box.
type Cipher struct {
	aead cipher.AEAD
}

const cipherVersion = 1

// NewCipher returns a Cipher for a 32-byte master key.
func NewCipher(masterKey []byte) (*Cipher, error) {
	if len(masterKey) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", MasterKeySize, len(masterKey))
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

// Encrypt seals plaintext under a fresh random nonce.
func (c *Cipher) Encrypt(plaintext []byte) ([]byte, error) {
	out := make([]byte, 1+c.aead.NonceSize(), 1+c.aead.NonceSize()+len(plaintext)+c.aead.Overhead())
	out[0] = cipherVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return c.aead.Seal(out, out[1:], plaintext, []byte{cipherVersion}), nil
}

// ErrDecrypt means a ciphertext is corrupt or was sealed under another key.
var ErrDecrypt = errors.New("decrypt: wrong master key or corrupt ciphertext")

// Decrypt opens a ciphertext made by Encrypt.
func (c *Cipher) Decrypt(ciphertext []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(ciphertext) < 1+n+c.aead.Overhead() || ciphertext[0] != cipherVersion {
		return nil, ErrDecrypt
	}
	out, err := c.aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], []byte{cipherVersion})
	if err != nil {
		return nil, ErrDecrypt
	}
	return out, nil
}
