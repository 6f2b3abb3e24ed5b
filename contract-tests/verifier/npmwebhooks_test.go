package verifier_test

import (
	"bytes"
	"encoding/json"
	stdmaps "maps" // this package has its own maps
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/webhooks"
)

// npmWebhooksScript verifies webhook deliveries signed by Credence
// (core/webhooks: webhook-id, webhook-timestamp, webhook-signature) as a
// JavaScript receiver would, with the Standard Webhooks library
// (standardwebhooks) and Svix's (svix): new Webhook(secret).verify(body,
// headers), the secret in its whsec_ text form, the headers exactly as
// Credence sends them. svix 2.x verifies through standardwebhooks after
// reading svix-id, svix-timestamp and svix-signature, or webhook-id,
// webhook-timestamp and webhook-signature when those are absent; Credence
// sends only the webhook-* ones. Both check the timestamp against the
// machine's clock (5 minutes either way).
//
// Each case is a secret, a file holding the body as delivered, and the
// headers; each library verifies the body as the raw bytes a Node server
// reads (a Buffer) and as a string decoded from UTF-8. It prints the
// libraries' versions and one outcome per case, library and form.
const npmWebhooksScript = `
import { readFileSync } from 'node:fs';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
const version = (pkg) => JSON.parse(readFileSync('node_modules/' + pkg + '/package.json', 'utf8')).version;
const libs = { standardwebhooks: StandardWebhook, svix: SvixWebhook };
const cases = JSON.parse(process.argv[1]);
const outcomes = cases.map((c) => {
  const raw = readFileSync(c.body);
  const out = {};
  for (const [lib, Webhook] of Object.entries(libs)) {
    for (const [form, body] of [['buffer', raw], ['string', raw.toString('utf8')]]) {
      try {
        const parsed = new Webhook(c.secret).verify(body, c.headers);
        out[lib + '/' + form] = { ok: true, id: parsed?.id ?? '' };
      } catch (e) {
        out[lib + '/' + form] = { ok: false, error: e.name + ': ' + e.message };
      }
    }
  }
  return out;
});
console.log(JSON.stringify({ versions: { standardwebhooks: version('standardwebhooks'), svix: version('svix') }, outcomes }));
`

// npm standardwebhooks and svix accept the deliveries Credence signs,
// with either secret of a rotation, and refuse a changed body, another
// secret, a changed header and a timestamp outside their tolerance.
func TestNpmWebhookLibrariesVerifyDeliveries(t *testing.T) {
	t.Parallel()
	dir := npmVerifiers(t, "standardwebhooks", "svix")
	dataDir := t.TempDir()

	keyA, secretA := newWebhookSecret(t)
	keyOld, secretOld := newWebhookSecret(t)
	keyNew, secretNew := newWebhookSecret(t)
	_, secretOther := newWebhookSecret(t)

	now := time.Now()
	// A credential.issued message as Credence writes it, its recipient
	// named in several scripts (two-, three- and four-byte UTF-8).
	issuedID := "evt_" + domain.NewID()
	issued := webhookMessage(t, issuedID, domain.EventCredentialIssued, now, credentials.CredentialEvent{
		ID: domain.NewID(), OrgID: domain.NewID(), BadgeID: domain.NewID(),
		Recipient: credentials.Recipient{Name: "Zoë Ñúñez-Ångström 山田太郎 🎓", Email: "zoë@exämple.com"},
		Status:    "active", Public: true, IssuedAt: now.UTC().Truncate(time.Second),
		VerificationURL: "https://credence.example/verify/x", CredentialURL: "https://credence.example/credentials/x",
	})
	// A credential.revoked message of more than 1 MiB (far beyond what
	// Credence sends), its reason non-ASCII text.
	revokedID := "evt_" + domain.NewID()
	revokedAt := now.UTC().Truncate(time.Second)
	large := webhookMessage(t, revokedID, domain.EventCredentialRevoked, now, credentials.CredentialEvent{
		ID: domain.NewID(), OrgID: domain.NewID(), BadgeID: domain.NewID(),
		Recipient: credentials.Recipient{Name: "Łukasz Żółć", Email: "lukasz@example.com"},
		Status:    "revoked", IssuedAt: revokedAt.Add(-time.Hour), RevokedAt: &revokedAt,
		RevocationReason: strings.Repeat("révoqué — 取り消し理由 🎓 ", 1<<15),
		VerificationURL:  "https://credence.example/verify/y", CredentialURL: "https://credence.example/credentials/y",
	})
	if len(large) < 1<<20 {
		t.Fatalf("the large message has %d bytes", len(large))
	}

	one := [][]byte{keyA}
	rotation := [][]byte{keyNew, keyOld} // the endpoint's secret, then the one it replaced
	rotated := webhooks.Headers(rotation, issuedID, now, issued)
	if n := len(strings.Fields(rotated["webhook-signature"])); n != 2 {
		t.Fatalf("%d signatures during a rotation: %q", n, rotated["webhook-signature"])
	}

	const (
		noMatch = "WebhookVerificationError: No matching signature found"
		tooOld  = "WebhookVerificationError: Message timestamp too old"
		tooNew  = "WebhookVerificationError: Message timestamp too new"
	)
	type webhookCase struct {
		name    string
		secret  string
		body    []byte
		headers map[string]string
		id      string // the message's ID, when accepted
		refusal string // why it is refused, "" when accepted
	}
	cases := []webhookCase{
		{name: "genuine", secret: secretA, body: issued, headers: webhooks.Headers(one, issuedID, now, issued), id: issuedID},
		{name: "genuine, 1 MiB", secret: secretA, body: large, headers: webhooks.Headers(one, revokedID, now, large), id: revokedID},
		{name: "signed 4 minutes ago", secret: secretA, body: issued, headers: webhooks.Headers(one, issuedID, now.Add(-4*time.Minute), issued), id: issuedID},
		{name: "rotation, the new secret", secret: secretNew, body: issued, headers: rotated, id: issuedID},
		{name: "rotation, the old secret", secret: secretOld, body: issued, headers: rotated, id: issuedID},
		{name: "rotation, its new signature changed, the old secret", secret: secretOld, body: issued,
			headers: withHeader(rotated, "webhook-signature", changedSignature(rotated["webhook-signature"])), id: issuedID},

		{name: "body changed by one byte", secret: secretA, body: oneByteChanged(t, issued, "credential.issued"),
			headers: webhooks.Headers(one, issuedID, now, issued), refusal: noMatch},
		{name: "1 MiB body changed by one byte", secret: secretA, body: oneByteChanged(t, large, "credence.example/credentials"),
			headers: webhooks.Headers(one, revokedID, now, large), refusal: noMatch},
		{name: "another secret", secret: secretOther, body: issued, headers: webhooks.Headers(one, issuedID, now, issued), refusal: noMatch},
		{name: "rotation, another secret", secret: secretOther, body: issued, headers: rotated, refusal: noMatch},
		{name: "rotation, its new signature changed, the new secret", secret: secretNew, body: issued,
			headers: withHeader(rotated, "webhook-signature", changedSignature(rotated["webhook-signature"])), refusal: noMatch},
		{name: "signature changed", secret: secretA, body: issued,
			headers: withHeader(webhooks.Headers(one, issuedID, now, issued), "webhook-signature",
				changedSignature(webhooks.Signature(one, issuedID, now, issued))), refusal: noMatch},
		{name: "webhook-id changed", secret: secretA, body: issued,
			headers: withHeader(webhooks.Headers(one, issuedID, now, issued), "webhook-id", "evt_"+domain.NewID()), refusal: noMatch},
		{name: "webhook-timestamp changed by a second", secret: secretA, body: issued,
			headers: withHeader(webhooks.Headers(one, issuedID, now, issued), "webhook-timestamp", strconv.FormatInt(now.Unix()+1, 10)), refusal: noMatch},
		{name: "signed 10 minutes ago", secret: secretA, body: issued, headers: webhooks.Headers(one, issuedID, now.Add(-10*time.Minute), issued), refusal: tooOld},
		{name: "signed 10 minutes ahead", secret: secretA, body: issued, headers: webhooks.Headers(one, issuedID, now.Add(10*time.Minute), issued), refusal: tooNew},
	}

	type input struct {
		Secret  string            `json:"secret"`
		Body    string            `json:"body"`
		Headers map[string]string `json:"headers"`
	}
	inputs := make([]input, len(cases))
	for i, c := range cases {
		path := filepath.Join(dataDir, strconv.Itoa(i)+".json")
		if err := os.WriteFile(path, c.body, 0o600); err != nil {
			t.Fatal(err)
		}
		inputs[i] = input{Secret: c.secret, Body: path, Headers: c.headers}
	}
	type outcome struct {
		OK    bool   `json:"ok"`
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	var got struct {
		Versions map[string]string    `json:"versions"`
		Outcomes []map[string]outcome `json:"outcomes"`
	}
	runNode(t, dir, npmWebhooksScript, &got, mustJSON(t, inputs))
	t.Logf("standardwebhooks %s, svix %s", got.Versions["standardwebhooks"], got.Versions["svix"])
	if len(got.Outcomes) != len(cases) {
		t.Fatalf("%d outcomes for %d cases", len(got.Outcomes), len(cases))
	}
	for i, c := range cases {
		for _, lib := range []string{"standardwebhooks", "svix"} {
			verdicts := make([]string, 0, 2)
			for _, form := range []string{"buffer", "string"} {
				o, ok := got.Outcomes[i][lib+"/"+form]
				if !ok {
					t.Fatalf("%s: no outcome of %s/%s", c.name, lib, form)
				}
				switch {
				case c.refusal == "" && !o.OK:
					t.Errorf("%s: %s (%s body) refuses it: %s", c.name, lib, form, o.Error)
				case c.refusal != "" && (o.OK || o.Error != c.refusal):
					t.Errorf("%s: %s (%s body) %+v, want %s", c.name, lib, form, o, c.refusal)
				case o.OK && lib == "standardwebhooks" && o.ID != c.id:
					// standardwebhooks returns the parsed body; svix 2.x nothing.
					t.Errorf("%s: %s (%s body) read a message with id %q, want %q", c.name, lib, form, o.ID, c.id)
				}
				verdict := "accepts"
				if !o.OK {
					verdict = "refuses (" + o.Error + ")"
				}
				verdicts = append(verdicts, form+" "+verdict)
			}
			t.Logf("%s: %s %s: %s", c.name, lib, got.Versions[lib], strings.Join(verdicts, ", "))
		}
	}
}

// newWebhookSecret is a fresh webhook secret: its key and its whsec_ text.
func newWebhookSecret(t *testing.T) ([]byte, string) {
	t.Helper()
	key, text, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return key, text
}

// webhookMessage is the body Credence delivers for an event of type typ
// with data, written at at.
func webhookMessage(t *testing.T, id string, typ domain.EventType, at time.Time, data any) []byte {
	t.Helper()
	body, err := json.Marshal(webhooks.Message{ID: id, Type: typ, Timestamp: at.UTC(), Data: json.RawMessage(mustJSON(t, data))})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// oneByteChanged is body with the first byte of its first occurrence of
// at (ASCII) in upper case: one byte changed, still valid UTF-8 and JSON.
func oneByteChanged(t *testing.T, body []byte, at string) []byte {
	t.Helper()
	i := bytes.Index(body, []byte(at))
	if i < 0 || body[i] < 'a' || body[i] > 'z' {
		t.Fatalf("no %q to change in the body", at)
	}
	changed := bytes.Clone(body)
	changed[i] -= 'a' - 'A'
	return changed
}

// changedSignature is a webhook-signature header with one character of
// its first signature's base64 changed (still base64).
func changedSignature(header string) string {
	b := []byte(header)
	i := len("v1,") + 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// withHeader is a copy of headers with name set to value.
func withHeader(headers map[string]string, name, value string) map[string]string {
	out := stdmaps.Clone(headers)
	out[name] = value
	return out
}
