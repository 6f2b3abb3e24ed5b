package platform_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

type (
	queue  struct{ kinds []string }
	mailer struct{}
	cipher struct{}
	store  struct{ ports.Store } // never called by New
)

func (*queue) Enqueue(context.Context, ports.Task) error { return nil }
func (*queue) Close() error                              { return nil }
func (q *queue) Handle(kind string, _ ports.TaskHandler) { q.kinds = append(q.kinds, kind) }
func (*queue) Run(context.Context) error                 { return nil }
func (mailer) Send(context.Context, ports.Message) error { return nil }
func (cipher) Encrypt(p []byte) ([]byte, error)          { return p, nil }
func (cipher) Decrypt(p []byte) ([]byte, error)          { return p, nil }

func TestNewNamesWhatIsMissing(t *testing.T) {
	_, err := platform.New(platform.Deps{Mailer: mailer{}}, platform.Options{})
	if err == nil {
		t.Fatal("New without a store, a queue and a cipher succeeded")
	}
	for _, want := range []string{"Deps.Store", "Deps.Queue", "Deps.Cipher"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "Deps.Mailer") {
		t.Errorf("error %q names the mailer it was given", err)
	}
}

func TestNewAssemblesAndRegisters(t *testing.T) {
	q := &queue{}
	p, err := platform.New(platform.Deps{Store: store{}, Queue: q, Mailer: mailer{}, Cipher: cipher{}}, platform.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Accounts == nil || p.Orgs == nil || p.Badges == nil || p.Credentials == nil || p.Bulk == nil || p.Dispatcher == nil || p.Delivery == nil {
		t.Fatalf("a service is missing: %+v", p)
	}
	if got := p.Credentials.URLs().Base.String(); got != platform.DefaultPublicURL {
		t.Errorf("credentials sign under %s, want the default %s", got, platform.DefaultPublicURL)
	}
	p.Register(q)
	slices.Sort(q.kinds)
	if want := []string{work.KindBulkJob, work.KindMail, work.KindStatusList, work.KindWebhook}; !slices.Equal(q.kinds, want) {
		t.Errorf("Register installed %v, want %v", q.kinds, want)
	}

	base, _ := url.Parse("https://badges.example.org")
	p, err = platform.New(platform.Deps{Store: store{}, Queue: q, Mailer: mailer{}, Cipher: cipher{}}, platform.Options{PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Credentials.URLs().Base.String(); got != base.String() {
		t.Errorf("credentials sign under %s, want %s", got, base)
	}
}
