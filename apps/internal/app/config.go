// Package app is what apps/api and apps/worker share: the configuration,
// read from CREDENCE_* variables, and the wiring of adapters and core.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Config is every setting, read from CREDENCE_* variables.
type Config struct {
	HTTPAddr      string
	DataDir       string
	DatabaseURL   string
	RedisURL      string // the asynq queue; "" runs the in-process queue
	Concurrency   int    // tasks a worker handles at once
	SweepEvery    time.Duration
	MailRetry     time.Duration // wait before a failed mail's first retry; see MailBackoff
	JobLease      time.Duration
	BulkChunk     int
	PublicURL     *url.URL
	MasterKeyText string // base64 or hex of 32 bytes; never logged
	AdminEmails   []string
	Plans         domain.Plans
	MailFrom      string
	SMTPURL       string // "" writes mail to files under the data folder; never logged (it may hold a password)
	LogLevel      slog.Level

	// Request rate limits (0 switches one off): per client address a
	// minute, per API key a minute, per client address on sign-up and the
	// mail-sending endpoints each 15 minutes, per email address on the
	// mail-sending endpoints each 15 minutes.
	RateLimitIP, RateLimitKey, RateLimitAuthIP, RateLimitEmail int
	// RateLimitSignInIP is each client address's budget of failed
	// sign-ins (wrong passwords and codes, whatever the email) per 15
	// minutes (0 switches it off).
	RateLimitSignInIP int
	// APIKeyCache is how long a replica may reuse an API key it looked up
	// without reading it again (0: never).
	APIKeyCache time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix

	// Housekeeping: activity entries are kept ActivityRetention (0:
	// forever); what ended is deleted every PruneEvery.
	ActivityRetention, PruneEvery time.Duration

	// WebhookAllowPrivate lets webhooks reach loopback and private
	// addresses and http URLs (CREDENCE_WEBHOOK_ALLOW_PRIVATE=1: for
	// development and tests only).
	WebhookAllowPrivate bool
	// WebhookTimeout bounds one delivery attempt (connect, TLS, answer).
	WebhookTimeout time.Duration
}

// Load reads the configuration; every bad value is an error naming its
// variable.
func Load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		HTTPAddr:      get("CREDENCE_HTTP_ADDR", ":8080"),
		DataDir:       get("CREDENCE_DATA_DIR", "credence-data"),
		MasterKeyText: getenv("CREDENCE_MASTER_KEY"),
		MailFrom:      get("CREDENCE_MAIL_FROM", "Credence <noreply@credence.local>"),
		SMTPURL:       strings.TrimSpace(getenv("CREDENCE_SMTP_URL")),
		Plans:         domain.DefaultPlans(),
		RedisURL:      strings.TrimSpace(getenv("CREDENCE_REDIS_URL")),
	}
	var err error
	if cfg.Concurrency, err = intSetting(getenv, "CREDENCE_WORKER_CONCURRENCY", 4, 1, 256); err != nil {
		return Config{}, err
	}
	if cfg.BulkChunk, err = intSetting(getenv, "CREDENCE_BULK_CHUNK", 500, 1, 5000); err != nil {
		return Config{}, err
	}
	if cfg.SweepEvery, err = durationSetting(getenv, "CREDENCE_SWEEP_INTERVAL", 5*time.Second); err != nil {
		return Config{}, err
	}
	if cfg.MailRetry, err = durationSetting(getenv, "CREDENCE_MAIL_RETRY", time.Minute); err != nil {
		return Config{}, err
	}
	for _, l := range []struct {
		name     string
		into     *int
		def, max int
	}{
		{"CREDENCE_RATE_LIMIT_IP", &cfg.RateLimitIP, 100, 1_000_000},
		{"CREDENCE_RATE_LIMIT_KEY", &cfg.RateLimitKey, 60, 1_000_000},
		{"CREDENCE_RATE_LIMIT_AUTH_IP", &cfg.RateLimitAuthIP, 30, 1_000_000},
		{"CREDENCE_RATE_LIMIT_EMAIL", &cfg.RateLimitEmail, 3, 1000},
		{"CREDENCE_RATE_LIMIT_SIGNIN_IP", &cfg.RateLimitSignInIP, 20, 1_000_000},
	} {
		if *l.into, err = intSetting(getenv, l.name, l.def, 0, l.max); err != nil {
			return Config{}, err
		}
	}
	if cfg.TrustedProxies, err = prefixesSetting(getenv, "CREDENCE_TRUSTED_PROXIES"); err != nil {
		return Config{}, err
	}
	if cfg.JobLease, err = durationSetting(getenv, "CREDENCE_JOB_LEASE", 30*time.Second); err != nil {
		return Config{}, err
	}
	if cfg.APIKeyCache, err = boundedDuration(getenv, "CREDENCE_API_KEY_CACHE", time.Second, time.Minute); err != nil {
		return Config{}, err
	}
	if cfg.ActivityRetention, err = retentionSetting(getenv, "CREDENCE_ACTIVITY_RETENTION", 365*24*time.Hour); err != nil {
		return Config{}, err
	}
	if cfg.PruneEvery, err = durationSetting(getenv, "CREDENCE_PRUNE_INTERVAL", time.Hour); err != nil {
		return Config{}, err
	}
	if cfg.WebhookTimeout, err = boundedDuration(getenv, "CREDENCE_WEBHOOK_TIMEOUT", 10*time.Second, time.Minute); err != nil {
		return Config{}, err
	}
	if cfg.WebhookTimeout == 0 {
		return Config{}, errors.New("CREDENCE_WEBHOOK_TIMEOUT must be more than 0")
	}
	switch v := strings.TrimSpace(getenv("CREDENCE_WEBHOOK_ALLOW_PRIVATE")); v {
	case "", "0", "false":
	case "1", "true":
		cfg.WebhookAllowPrivate = true
	default:
		return Config{}, fmt.Errorf("CREDENCE_WEBHOOK_ALLOW_PRIVATE must be 1 or 0, got %q", v)
	}
	cfg.DatabaseURL = get("CREDENCE_DATABASE_URL", filepath.Join(cfg.DataDir, "credence.db"))
	if cfg.IsPostgres() && strings.TrimSpace(cfg.MasterKeyText) == "" {
		return Config{}, errors.New("CREDENCE_MASTER_KEY is required with PostgreSQL (32 random bytes, base64; e.g. `openssl rand -base64 32`)")
	}
	public := get("CREDENCE_PUBLIC_URL", defaultPublicURL(cfg.HTTPAddr))
	u, err := url.Parse(strings.TrimRight(public, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return Config{}, fmt.Errorf("CREDENCE_PUBLIC_URL must be an absolute http(s) URL without query, got %q", public)
	}
	if err := didWebHost(u); err != nil {
		return Config{}, fmt.Errorf("CREDENCE_PUBLIC_URL %q: %w", public, err)
	}
	cfg.PublicURL = u
	for _, e := range strings.Split(getenv("CREDENCE_ADMIN_EMAILS"), ",") {
		if e = domain.NormalizeEmail(e); e != "" {
			cfg.AdminEmails = append(cfg.AdminEmails, e)
		}
	}
	if raw := strings.TrimSpace(getenv("CREDENCE_PLANS")); raw != "" {
		if cfg.Plans, err = cfg.Plans.WithOverrides([]byte(raw)); err != nil {
			return Config{}, fmt.Errorf("CREDENCE_PLANS: %w", err)
		}
	}
	if lvl := getenv("CREDENCE_LOG_LEVEL"); lvl != "" {
		if err := cfg.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			return Config{}, fmt.Errorf("CREDENCE_LOG_LEVEL: %w", err)
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
	if host == "" || host == "0.0.0.0" || strings.Contains(host, ":") {
		// Any address, or an IPv6 one, which no did:web can name
		// (didWebHost): the default serves this machine.
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(strings.ToLower(host), port)
}

// IsPostgres reports whether the database is PostgreSQL.
func (c Config) IsPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// DatabaseKind names the database for logs, without credentials.
func (c Config) DatabaseKind() string {
	if c.IsPostgres() {
		return "postgres"
	}
	return "sqlite:" + c.DatabaseURL
}

// intSetting reads an integer variable within [lo, hi].
func intSetting(getenv func(string) string, name string, def, lo, hi int) (int, error) {
	raw := strings.TrimSpace(getenv(name))
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, got %q", name, lo, hi, raw)
	}
	return n, nil
}

// durationSetting reads a positive Go duration variable ("5s", "1m30s").
func durationSetting(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	raw := strings.TrimSpace(getenv(name))
	if raw == "" {
		return def, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s must be a positive duration such as 5s or 1m, got %q", name, raw)
	}
	return d, nil
}

// boundedDuration reads a duration variable from 0 to max.
func boundedDuration(getenv func(string) string, name string, def, max time.Duration) (time.Duration, error) {
	raw := strings.TrimSpace(getenv(name))
	if raw == "" {
		return def, nil
	}
	d, err := time.ParseDuration(raw)
	if raw == "0" {
		d, err = 0, nil
	}
	if err != nil || d < 0 || d > max {
		return 0, fmt.Errorf("%s must be a duration from 0 to %v such as 500ms or 2s, got %q", name, max, raw)
	}
	return d, nil
}

// retentionSetting reads how long to keep something: a Go duration
// ("8760h"), or 0 or "forever" for no limit (returned as 0).
func retentionSetting(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	raw := strings.TrimSpace(getenv(name))
	switch {
	case raw == "":
		return def, nil
	case strings.EqualFold(raw, "forever"):
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s must be a duration in hours such as 8760h (365 days) or 720h (30 days), or 0 or forever to keep everything, got %q", name, raw)
	}
	return d, nil
}

// prefixesSetting reads a comma-separated list of IP addresses and CIDR
// ranges ("10.0.0.0/8, 192.0.2.7").
func prefixesSetting(getenv func(string) string, name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(getenv(name), ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			addr, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%s must list IP addresses or CIDR ranges separated by commas, got %q", name, f)
			}
			p = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// MailBackoff is the wait after failed mail attempt n: MailRetry, four
// times longer after each next attempt, at most 12 hours. With the
// default MailRetry of a minute it is work.DefaultMailBackoff.
func (c Config) MailBackoff(attempt int) time.Duration { return work.MailBackoff(c.MailRetry, attempt) }

// SignInLimit returns each client address's budget of failed sign-ins.
func (c Config) SignInLimit() ports.Limit {
	return ports.Limit{Rate: c.RateLimitSignInIP, Period: 15 * time.Minute}
}

// Limits returns the request limits of the HTTP API.
func (c Config) Limits() (ip, key, authIP, email ports.Limit) {
	return ports.Limit{Rate: c.RateLimitIP, Period: time.Minute}, ports.Limit{Rate: c.RateLimitKey, Period: time.Minute},
		ports.Limit{Rate: c.RateLimitAuthIP, Period: 15 * time.Minute}, ports.Limit{Rate: c.RateLimitEmail, Period: 15 * time.Minute}
}

// didWebHost refuses a public URL whose host no did:web identifier can
// name as written: the issuers' DIDs are did:web:<host>:issuers:<slug>,
// and resolvers turn the DID back into https://<host>/…/did.json. An IPv6
// literal has no did:web form (its colons are the method's separators),
// and a host with capitals is not the one a resolver derives from the
// DID (DIDs are compared as written, hosts in lower case), so the two
// would name different issuers.
func didWebHost(u *url.URL) error {
	host := u.Hostname()
	if strings.Contains(host, ":") {
		return errors.New("an IPv6 address cannot be the host of a did:web identifier: use a DNS name")
	}
	if host != strings.ToLower(host) {
		return fmt.Errorf("write the host in lower case (%s): did:web identifiers are compared as written", strings.ToLower(host))
	}
	return nil
}

// DIDWebResolvable reports whether outside verifiers can resolve the
// issuers' did:web identifiers under this public URL: resolvers fetch
// did.json over https only.
func (c Config) DIDWebResolvable() bool { return c.PublicURL.Scheme == "https" }
