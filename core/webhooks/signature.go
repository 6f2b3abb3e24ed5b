package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks signing (standardwebhooks.com): each delivery carries
// webhook-id (the message's ID, the same at every attempt),
// webhook-timestamp (Unix seconds of the attempt) and webhook-signature,
// "v1,<base64 of HMAC-SHA256 over id.timestamp.body>", one per secret
// that signs, separated by spaces. Secrets are "whsec_" and the base64 of
// their key bytes.

// SecretPrefix begins every signing secret.
const SecretPrefix = "whsec_"

// secretBytes is the length of a secret's key (Standard Webhooks asks for
// 24 to 64).
const secretBytes = 32

// NewSecret returns a fresh secret's key bytes and its text form.
func NewSecret() ([]byte, string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, "", err
	}
	return key, SecretText(key), nil
}

// SecretText is a secret's key bytes as shown to its owner.
func SecretText(key []byte) string { return SecretPrefix + base64.StdEncoding.EncodeToString(key) }

// ParseSecret reads a secret's text form back into its key bytes.
func ParseSecret(text string) ([]byte, error) {
	b64, ok := strings.CutPrefix(text, SecretPrefix)
	if !ok {
		return nil, errors.New("a webhook secret begins with " + SecretPrefix)
	}
	return base64.StdEncoding.DecodeString(b64)
}

// Signature is the webhook-signature header of a message signed with
// each of keys at ts.
func Signature(keys [][]byte, msgID string, ts time.Time, body []byte) string {
	sigs := make([]string, 0, len(keys))
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(msgID))
		mac.Write([]byte{'.'})
		mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
		mac.Write([]byte{'.'})
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " ")
}

// Headers are the Standard Webhooks headers of a message signed with keys
// at ts.
func Headers(keys [][]byte, msgID string, ts time.Time, body []byte) map[string]string {
	return map[string]string{
		"webhook-id":        msgID,
		"webhook-timestamp": strconv.FormatInt(ts.Unix(), 10),
		"webhook-signature": Signature(keys, msgID, ts, body),
	}
}
