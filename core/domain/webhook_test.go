package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/domain"
)

// Retries: ten attempts over at least three days, each wait stretched by
// at most a fifth, none after the tenth.
func TestWebhookRetrySchedule(t *testing.T) {
	start := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for _, jitter := range []float64{0, 0.5, 0.999} {
		at, attempts := start, 1
		for {
			next, ok := domain.WebhookRetryAfter(attempts, at, jitter)
			if !ok {
				break
			}
			wait := domain.WebhookRetries[attempts-1]
			if got := next.Sub(at); got < wait || got > wait+wait/5 {
				t.Errorf("jitter %v: wait after attempt %d is %v, want within [%v, %v]", jitter, attempts, got, wait, wait+wait/5)
			}
			at, attempts = next, attempts+1
		}
		if attempts != 10 {
			t.Errorf("jitter %v: %d attempts, want 10", jitter, attempts)
		}
		if span := at.Sub(start); span < 72*time.Hour {
			t.Errorf("jitter %v: the last attempt %v after the first, want at least 3 days", jitter, span)
		}
	}
	if _, ok := domain.WebhookRetryAfter(0, start, 0); ok {
		t.Error("a retry after attempt 0")
	}
}

func TestWebhookInputApply(t *testing.T) {
	str := func(s string) *string { return &s }
	events := func(es ...string) *[]string { return &es }
	var w domain.Webhook
	if err := (domain.WebhookInput{URL: str(" https://hooks.example.com/in "), Events: events("credential.issued", "ping")}).Apply(&w, true, false); err == nil {
		t.Error("ping is not an event an endpoint chooses")
	}
	if err := (domain.WebhookInput{URL: str(" https://hooks.example.com/in "), Events: events("credential.issued")}).Apply(&w, true, false); err != nil {
		t.Fatal(err)
	}
	if w.URL != "https://hooks.example.com/in" || !w.Active || len(w.Events) != 1 {
		t.Errorf("created: %+v", w)
	}
	for _, bad := range []domain.WebhookInput{
		{URL: str("http://hooks.example.com/in")},
		{URL: str("https://user:pw@hooks.example.com/in")},
		{URL: str("https://hooks.example.com/in#frag")},
		{URL: str("/relative")},
		{URL: str("https://" + strings.Repeat("a", 2048) + ".example.com")},
		{Events: events()},
		{Events: events("credential.issued", "credential.issued")},
		{Events: events("credential.deleted")},
		{Description: str(strings.Repeat("d", 501))},
	} {
		before := w
		err := bad.Apply(&w, false, false)
		var v *domain.ValidationError
		if !errors.As(err, &v) || len(v.Fields) != 1 {
			t.Errorf("%+v: %v, want one field refused", bad, err)
		}
		if w.URL != before.URL || len(w.Events) != len(before.Events) || w.Description != before.Description {
			t.Errorf("%+v: a refused input changed the endpoint", bad)
		}
	}
	if err := (domain.WebhookInput{URL: str("http://127.0.0.1:9000/in")}).Apply(&w, false, true); err != nil {
		t.Errorf("http where the operator allows it: %v", err)
	}
	var missing domain.Webhook
	var v *domain.ValidationError
	if err := (domain.WebhookInput{}).Apply(&missing, true, false); !errors.As(err, &v) || len(v.Fields) != 2 {
		t.Errorf("creating without url and events: %v, want both required", err)
	}
}

// A URL told in the activity log or in mail keeps its host, never a path
// or query that may hold a token.
func TestWebhookURLShown(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.example.com":                         "https://hooks.example.com",
		"https://hooks.example.com/":                        "https://hooks.example.com",
		"https://hooks.example.com:8443/services/T0/B0/XYZ": "https://hooks.example.com:8443/…",
		"https://hooks.example.com/?token=s3cret":           "https://hooks.example.com/…",
		"::not a url": "(a URL that does not parse)",
	} {
		if got := domain.WebhookURLShown(in); got != want {
			t.Errorf("WebhookURLShown(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(domain.WebhookURLShown(in), "s3cret") || strings.Contains(domain.WebhookURLShown(in), "XYZ") {
			t.Errorf("%q shown with its secret", in)
		}
	}
}
