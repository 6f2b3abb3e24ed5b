package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/signing"
)

// config is every setting, read from CREDENCE_* variables.
type config struct {
	HTTPAddr    string
	DataDir     string
	DatabaseURL string
	PublicURL   *url.URL
	MasterKey   string // base64 or hex of 32 bytes; never logged
	AdminEmails []string
	Plans       domain.Plans
	MailFrom    string
	LogLevel    slog.Level
}

func loadConfig(getenv func(string) string) (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := config{
		HTTPAddr:  get("CREDENCE_HTTP_ADDR", ":8080"),
		DataDir:   get("CREDENCE_DATA_DIR", "credence-data"),
		MasterKey: getenv("CREDENCE_MASTER_KEY"),
		MailFrom:  get("CREDENCE_MAIL_FROM", "Credence <noreply@credence.local>"),
		Plans:     domain.DefaultPlans(),
	}
	cfg.DatabaseURL = get("CREDENCE_DATABASE_URL", filepath.Join(cfg.DataDir, "credence.db"))
	if cfg.isPostgres() && strings.TrimSpace(cfg.MasterKey) == "" {
		return config{}, errors.New("CREDENCE_MASTER_KEY is required with PostgreSQL (32 random bytes, base64; e.g. `openssl rand -base64 32`)")
	}
	public := get("CREDENCE_PUBLIC_URL", defaultPublicURL(cfg.HTTPAddr))
	u, err := url.Parse(strings.TrimRight(public, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return config{}, fmt.Errorf("CREDENCE_PUBLIC_URL must be an absolute http(s) URL without query, got %q", public)
	}
	cfg.PublicURL = u
	for _, e := range strings.Split(getenv("CREDENCE_ADMIN_EMAILS"), ",") {
		if e = domain.NormalizeEmail(e); e != "" {
			cfg.AdminEmails = append(cfg.AdminEmails, e)
		}
	}
	if raw := strings.TrimSpace(getenv("CREDENCE_PLANS")); raw != "" {
		if cfg.Plans, err = cfg.Plans.WithOverrides([]byte(raw)); err != nil {
			return config{}, fmt.Errorf("CREDENCE_PLANS: %w", err)
		}
	}
	if lvl := getenv("CREDENCE_LOG_LEVEL"); lvl != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return config{}, fmt.Errorf("CREDENCE_LOG_LEVEL: %w", err)
		}
	}
	return cfg, nil
}

// defaultPublicURL derives http://localhost:<port> from a listen address.
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (c config) isPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

func (c config) databaseKind() string {
	if c.isPostgres() {
		return "postgres"
	}
	return "sqlite:" + c.DatabaseURL
}

// masterKey decodes CREDENCE_MASTER_KEY, or (embedded default only) reads
// or generates <data dir>/master.key with mode 0600.
func (c config) masterKey(log *slog.Logger) ([]byte, error) {
	if strings.TrimSpace(c.MasterKey) != "" {
		k, err := decodeKey(c.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("CREDENCE_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(c.DataDir, "master.key")
	raw, err := os.ReadFile(path)
	if err == nil {
		k, err := decodeKey(string(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read master key: %w", err)
	}
	k := make([]byte, signing.MasterKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	log.Warn("generated a new master key; it encrypts every signing key: back it up, and set CREDENCE_MASTER_KEY in production", "file", path)
	return k, nil
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
