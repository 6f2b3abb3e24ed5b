package app

import (
	"bytes"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func TestConfigDefaults(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":8080" || cfg.DataDir != "credence-data" || cfg.DatabaseURL != filepath.Join("credence-data", "credence.db") {
		t.Errorf("defaults: addr %q, data %q, db %q", cfg.HTTPAddr, cfg.DataDir, cfg.DatabaseURL)
	}
	if got := cfg.PublicURL.String(); got != "http://localhost:8080" {
		t.Errorf("public URL defaults to the listen address: got %q", got)
	}
	if cfg.Plans["free"].MonthlyRecipients != 1000 {
		t.Errorf("free plan: %+v", cfg.Plans["free"])
	}
	ip, key, auth, email := cfg.Limits()
	if ip != (ports.Limit{Rate: 100, Period: time.Minute}) || key != (ports.Limit{Rate: 60, Period: time.Minute}) ||
		auth != (ports.Limit{Rate: 30, Period: 15 * time.Minute}) || email != (ports.Limit{Rate: 3, Period: 15 * time.Minute}) {
		t.Errorf("default limits: ip %v, key %v, auth %v, email %v", ip, key, auth, email)
	}
	if got := cfg.SignInLimit(); got != (ports.Limit{Rate: 20, Period: 15 * time.Minute}) {
		t.Errorf("default budget of failed sign-ins per address: %v", got)
	}
	if len(cfg.TrustedProxies) != 0 {
		t.Errorf("trusted proxies by default: %v", cfg.TrustedProxies)
	}
	if cfg.APIKeyCache != time.Second {
		t.Errorf("API key cache: %v, want 1s", cfg.APIKeyCache)
	}
	off, err := Load(env(map[string]string{"CREDENCE_API_KEY_CACHE": "0"}))
	if err != nil || off.APIKeyCache != 0 {
		t.Errorf("CREDENCE_API_KEY_CACHE=0: %v, %v (want off)", off.APIKeyCache, err)
	}
}

func TestConfigLimitsAndProxies(t *testing.T) {
	cfg, err := Load(env(map[string]string{"CREDENCE_RATE_LIMIT_IP": "0", "CREDENCE_RATE_LIMIT_EMAIL": "5",
		"CREDENCE_RATE_LIMIT_SIGNIN_IP": "0", "CREDENCE_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,::1,"}))
	if err != nil {
		t.Fatal(err)
	}
	if ip, _, _, email := cfg.Limits(); ip.Rate != 0 || email.Rate != 5 {
		t.Errorf("limits: ip %v (0 switches it off), email %v", ip, email)
	}
	if signIn := cfg.SignInLimit(); signIn.Rate != 0 {
		t.Errorf("failed sign-ins per address: %v, want 0 (off)", signIn)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(cfg.TrustedProxies, want) {
		t.Errorf("trusted proxies %v, want %v", cfg.TrustedProxies, want)
	}
}

func TestConfigRefusesBadSettings(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"postgres_without_master_key": {map[string]string{"CREDENCE_DATABASE_URL": "postgres://x@127.0.0.1/db"}, "CREDENCE_MASTER_KEY is required"},
		"plans_bad_json":              {map[string]string{"CREDENCE_PLANS": "{"}, "CREDENCE_PLANS"},
		"plans_unknown_plan":          {map[string]string{"CREDENCE_PLANS": `{"gold":{}}`}, "unknown plan"},
		"plans_unknown_field":         {map[string]string{"CREDENCE_PLANS": `{"free":{"recipients":5}}`}, "unknown field"},
		"public_url_relative":         {map[string]string{"CREDENCE_PUBLIC_URL": "/here"}, "CREDENCE_PUBLIC_URL"},
		"public_url_ipv6":             {map[string]string{"CREDENCE_PUBLIC_URL": "https://[2001:db8::1]:8443"}, "IPv6"},
		"public_url_ipv4_in_ipv6":     {map[string]string{"CREDENCE_PUBLIC_URL": "https://[::ffff:10.0.0.1]"}, "IPv6"},
		"public_url_uppercase":        {map[string]string{"CREDENCE_PUBLIC_URL": "https://Credentials.Example.com"}, "lower case"},
		"log_level":                   {map[string]string{"CREDENCE_LOG_LEVEL": "loud"}, "CREDENCE_LOG_LEVEL"},
		"rate_limit_negative":         {map[string]string{"CREDENCE_RATE_LIMIT_KEY": "-1"}, "CREDENCE_RATE_LIMIT_KEY"},
		"rate_limit_words":            {map[string]string{"CREDENCE_RATE_LIMIT_AUTH_IP": "thirty"}, "CREDENCE_RATE_LIMIT_AUTH_IP"},
		"trusted_proxy_host_name":     {map[string]string{"CREDENCE_TRUSTED_PROXIES": "proxy.internal"}, "CREDENCE_TRUSTED_PROXIES"},
		"mail_retry_zero":             {map[string]string{"CREDENCE_MAIL_RETRY": "0s"}, "CREDENCE_MAIL_RETRY"},
		"mail_retry_no_unit":          {map[string]string{"CREDENCE_MAIL_RETRY": "30"}, "CREDENCE_MAIL_RETRY"},
		"api_key_cache_negative":      {map[string]string{"CREDENCE_API_KEY_CACHE": "-1s"}, "CREDENCE_API_KEY_CACHE"},
		"api_key_cache_too_long":      {map[string]string{"CREDENCE_API_KEY_CACHE": "2m"}, "CREDENCE_API_KEY_CACHE"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	cfg, err := Load(env(map[string]string{"CREDENCE_PLANS": `{"free":{"monthlyRecipients":6}}`, "CREDENCE_ADMIN_EMAILS": " A@Example.com ,b@example.com,"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Plans["free"].MonthlyRecipients != 6 || cfg.Plans["free"].BadgeTemplates != 100 {
		t.Errorf("override keeps the other fields: %+v", cfg.Plans["free"])
	}
	if strings.Join(cfg.AdminEmails, ",") != "a@example.com,b@example.com" {
		t.Errorf("admin emails: %q", cfg.AdminEmails)
	}
}

// CREDENCE_MAIL_RETRY sets the first wait of mail retries; the waits
// grow four times an attempt up to 12 hours, as work.DefaultMailBackoff's.
func TestConfigMailRetry(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 10; n++ {
		if got, want := cfg.MailBackoff(n), work.DefaultMailBackoff(n); got != want {
			t.Errorf("default backoff after attempt %d: %v, want %v", n, got, want)
		}
	}
	if cfg, err = Load(env(map[string]string{"CREDENCE_MAIL_RETRY": " 2s "})); err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 8 * time.Second, 3: 32 * time.Second, 12: 12 * time.Hour} {
		if got := cfg.MailBackoff(n); got != want {
			t.Errorf("CREDENCE_MAIL_RETRY=2s: backoff after attempt %d: %v, want %v", n, got, want)
		}
	}
}

func TestMasterKeyGeneratedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Load(env(map[string]string{"CREDENCE_DATA_DIR": dir}))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := newTestLogger(&logs)
	k1, err := cfg.MasterKey(log)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("master.key mode %v, want 0600", info.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "generated a new master key") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	k2, err := cfg.MasterKey(log)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != 32 {
		t.Fatalf("second start must read the same 32-byte key: %v", err)
	}
	if strings.Contains(logs.String(), string(k1)) {
		t.Error("the key was logged")
	}
	cfg.MasterKeyText = "not a key"
	if _, err := cfg.MasterKey(log); err == nil {
		t.Error("a malformed CREDENCE_MASTER_KEY was accepted")
	}
}

// A public URL under a path, or on an IPv4 address or localhost, names
// did:web identifiers that resolvers can turn back into it; only https
// ones can outside verifiers resolve.
func TestConfigPublicURLForDIDWeb(t *testing.T) {
	for public, resolvable := range map[string]bool{
		"https://credentials.example.com": true,
		"https://example.com/credence":    true,
		"http://127.0.0.1:8080":           false,
		"http://localhost:8080":           false,
	} {
		cfg, err := Load(env(map[string]string{"CREDENCE_PUBLIC_URL": public}))
		if err != nil {
			t.Errorf("%s: %v", public, err)
			continue
		}
		if cfg.DIDWebResolvable() != resolvable {
			t.Errorf("%s: resolvable %v, want %v", public, cfg.DIDWebResolvable(), resolvable)
		}
	}
}

// Without CREDENCE_PUBLIC_URL, the public URL follows the listen address,
// on localhost for any address or an IPv6 one (which no did:web names).
func TestConfigDefaultPublicURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":                "http://localhost:8080",
		":9090":           "http://localhost:9090",
		"0.0.0.0:9090":    "http://localhost:9090",
		"127.0.0.1:9090":  "http://127.0.0.1:9090",
		"[::]:9090":       "http://localhost:9090",
		"[::1]:9090":      "http://localhost:9090",
		"[2001:db8::1]:1": "http://localhost:1",
		"MyBox:8080":      "http://mybox:8080",
	} {
		vars := map[string]string{}
		if addr != "" {
			vars["CREDENCE_HTTP_ADDR"] = addr
		}
		cfg, err := Load(env(vars))
		if err != nil {
			t.Errorf("%q: %v", addr, err)
			continue
		}
		if got := cfg.PublicURL.String(); got != want {
			t.Errorf("%q: public URL %s, want %s", addr, got, want)
		}
	}
}
