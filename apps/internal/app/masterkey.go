package app

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/signing"
)

// MasterKey decodes CREDENCE_MASTER_KEY, or (embedded default only) reads
// or generates <data dir>/master.key with mode 0600. Processes starting at
// once on a fresh data dir (api and worker) all end up with the same key.
func (c Config) MasterKey(log *slog.Logger) ([]byte, error) {
	if strings.TrimSpace(c.MasterKeyText) != "" {
		k, err := decodeKey(c.MasterKeyText)
		if err != nil {
			return nil, fmt.Errorf("CREDENCE_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(c.DataDir, "master.key")
	k, err := readMasterKey(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		// Where it cannot be created in one step, another process may be
		// writing it this moment.
		return readWinnersKey(path)
	}
	if err == nil {
		return k, nil
	}
	k = make([]byte, signing.MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	created, err := createMasterKey(path, k)
	if err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if !created { // another process generated one first: use it
		return readWinnersKey(path)
	}
	log.Warn("generated a new master key; it encrypts every signing key: back it up, and set CREDENCE_MASTER_KEY in production", "file", path)
	return k, nil
}

// readWinnersKey reads the key another process just created at path,
// giving it a moment where it could not be created in one step.
func readWinnersKey(path string) ([]byte, error) {
	for deadline := time.Now().Add(winnerWait); ; {
		k, err := readMasterKey(path)
		if err == nil || time.Now().After(deadline) {
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				err = fmt.Errorf("%w (if no signing key was generated yet, a key file left partly written by a crash may be deleted)", err)
			}
			return k, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// winnerWait is how long a start waits for a key file another process is
// writing: a network file system may show the contents late.
var winnerWait = 5 * time.Second

// readMasterKey reads the key file at path; the error matches
// os.ErrNotExist when there is none.
func readMasterKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k, err := decodeKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// createMasterKey writes k to path unless a file is there already, and
// reports whether it did. The key is written in full and synced to a
// temporary file that is then hard-linked to path: the link either
// appears with the whole key or fails with EEXIST, so a concurrent reader
// never sees an empty or partial file and no key is ever overwritten.
func createMasterKey(path string, k []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".master.key-*.tmp") // mode 0600
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name()) // path, if linked, keeps the contents
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if err := linkFile(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		// Some file systems (exFAT, some FUSE, SMB and container mounts)
		// have no hard links: create the file exclusively instead, where a
		// concurrent first start may briefly read it partly written.
		if created, err := createExclusive(path, k); !created || err != nil {
			return created, err
		}
	}
	syncDir(dir)
	return true, nil
}

// syncDir persists a new entry of dir: a key lost to a power cut would
// leave the signing keys it encrypted unreadable. Not every platform
// syncs directories; the file itself is synced already.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// linkFile is os.Link; tests stand in a file system without hard links.
var linkFile = os.Link

// createExclusive writes k to a new file at path, or reports that one is
// there already.
func createExclusive(path string, k []byte) (created bool, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // a partial key must not stay
		return false, err
	}
	return true, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == signing.MasterKeySize {
		return k, nil
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == signing.MasterKeySize {
		return k, nil
	}
	return nil, fmt.Errorf("must be %d bytes in base64 or hex", signing.MasterKeySize)
}
