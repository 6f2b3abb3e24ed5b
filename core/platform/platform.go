// Package platform assembles Credence's core services from the adapters a
// program chooses: a store, a queue, a mailer, a key cipher and, when it
// wants them, a clock and a rate limiter. apps/api and apps/worker are
// built on it, and so is any Go program that embeds Credence:
//
//	store, _ := sqlstore.Open(ctx, "credence.db")
//	queue := memqueue.New(memqueue.Options{})
//	p, err := platform.New(platform.Deps{Store: store, Queue: queue, Mailer: m, Cipher: c},
//		platform.Options{PublicURL: base})
//	p.Register(queue) // this process delivers mail and runs bulk jobs
//
// docs/examples/embed is a whole program.
package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/credence-dev/credence/core/accounts"
	"github.com/credence-dev/credence/core/badges"
	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/credentials"
	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/core/images"
	"github.com/credence-dev/credence/core/orgs"
	"github.com/credence-dev/credence/core/vcapi"
	"github.com/credence-dev/credence/core/webhooks"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// Deps are the adapters the core runs on.
type Deps struct {
	// Store persists everything (required).
	Store ports.Store
	// Queue carries mail and bulk jobs to the processes that Register its
	// worker (required).
	Queue ports.Queue
	// Mailer sends the mail that Delivery takes from the outbox
	// (required).
	Mailer ports.Mailer
	// Cipher encrypts signing keys and queued mail at rest (required;
	// signing.NewCipher makes one from a 32-byte master key).
	Cipher ports.KeyCipher
	// Clock tells the time (default: the system clock).
	Clock ports.Clock
	// Limiter counts the mail one address is sent on request and failed
	// sign-ins per client address (nil: no limits).
	Limiter ports.RateLimiter
	// Log receives the services' logs (nil: discarded).
	Log *slog.Logger
	// Canonicalizer makes the JSON-LD canonical form Data Integrity proofs
	// sign (nil: an organization that switches proofs on cannot issue).
	Canonicalizer ports.Canonicalizer
	// Terms checks the JSON-LD terms of credentials issued through the
	// VC-API (nil: that endpoint answers UNSUPPORTED).
	Terms ports.TermChecker
	// Webhooks sends webhook deliveries (the SSRF guard is its); nil:
	// webhooks cannot be created, and deliveries wait.
	Webhooks ports.WebhookSender
}

// Options tune the services; the zero value works.
type Options struct {
	// PublicURL is the base of every link in mail and of every signed
	// credential's URLs (default http://localhost:8080).
	PublicURL *url.URL
	// AdminEmails are the verified emails of platform administrators.
	AdminEmails []string
	// Plans are the plans' limits (zero: domain.DefaultPlans()).
	Plans domain.Plans
	// EmailLimit is the mail one address can be sent on request, and
	// SignInLimit each client address's budget of failed sign-ins; both
	// count with Deps.Limiter (Rate 0: no limit).
	EmailLimit  ports.Limit
	SignInLimit ports.Limit
	// APIKeyCacheTTL is how long an API key looked up for a request may
	// serve the next ones without a database read (0: none). A key
	// revoked or regenerated through this Platform stops working at once;
	// one revoked through another process works here up to that long.
	APIKeyCacheTTL time.Duration
	// Work tunes the dispatcher, mail delivery and housekeeping.
	Work work.Options
	// Bulk tunes bulk issuance (its JobLease defaults to Work.JobLease).
	Bulk bulk.Options
	// Webhooks tunes the webhook service (AllowHTTP: the operator's
	// CREDENCE_WEBHOOK_ALLOW_PRIVATE).
	Webhooks webhooks.Options
	// VerificationsEvery is how often the verifications counted in memory
	// are added to the store (default work.DefaultTallyEvery): what a
	// crash may lose of the counts.
	VerificationsEvery time.Duration
}

// Platform is the assembled core.
type Platform struct {
	Accounts    *accounts.Service
	Orgs        *orgs.Service
	Badges      *badges.Service
	Images      *images.Service
	Credentials *credentials.Service
	Bulk        *bulk.Service
	// VCAPI answers the W3C VC-API's verification requests, credentials
	// with an embedded Data Integrity proof included.
	VCAPI *vcapi.Service
	// Webhooks manages organizations' endpoints and delivers their events.
	Webhooks *webhooks.Service
	// Dispatcher relays committed work to the queue; run its Sweep loop
	// (Dispatcher.Run) in one process or more to relay what a crash lost
	// and to prune what has ended.
	Dispatcher *work.Dispatcher
	// Delivery sends queued mail; Register installs it on a worker.
	Delivery *work.Delivery
	// Verifications counts verifications in memory: run its Run loop in
	// every process that serves verifications, until after the last
	// request is answered (it adds the counts to the store every
	// Options.VerificationsEvery and when its context ends).
	Verifications *work.Tally
}

// DefaultPublicURL is the public URL when Options.PublicURL is nil.
const DefaultPublicURL = "http://localhost:8080"

// New assembles the core services on d.
func New(d Deps, o Options) (*Platform, error) {
	var missing []error
	for _, m := range []struct {
		name string
		nil  bool
	}{{"Store", d.Store == nil}, {"Queue", d.Queue == nil}, {"Mailer", d.Mailer == nil}, {"Cipher", d.Cipher == nil}} {
		if m.nil {
			missing = append(missing, errors.New("platform: Deps."+m.name+" is required"))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	if d.Clock == nil {
		d.Clock = systemClock{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if o.PublicURL == nil {
		o.PublicURL, _ = url.Parse(DefaultPublicURL)
	}
	if o.Plans == nil {
		o.Plans = domain.DefaultPlans()
	}
	if o.Bulk.JobLease <= 0 {
		o.Bulk.JobLease = o.Work.JobLease
	}

	p := &Platform{}
	p.Dispatcher = work.NewDispatcher(d.Store, d.Queue, d.Clock, d.Log, o.Work)
	p.Delivery = work.NewDelivery(d.Store, d.Mailer, d.Cipher, d.Clock, d.Log, o.Work)
	outbox := work.NewOutbox(d.Store, d.Cipher, p.Dispatcher, d.Clock)
	p.Accounts = accounts.New(d.Store, d.Clock, outbox, d.Log, accounts.Config{PublicURL: o.PublicURL.String(),
		AdminEmails: o.AdminEmails, Limiter: d.Limiter, EmailLimit: o.EmailLimit, SignInLimit: o.SignInLimit,
		APIKeyCacheTTL: o.APIKeyCacheTTL})
	// Account mail that must not tell whether an address has an account
	// is written at delivery (accounts.Service.Composers): every process
	// that delivers mail composes it.
	for kind, compose := range p.Accounts.Composers() {
		p.Delivery.Compose(kind, compose)
	}
	p.Orgs = orgs.New(d.Store, d.Clock, outbox, d.Cipher, o.Plans, d.Log)
	p.Orgs.OnAPIKeysChanged(p.Accounts.ForgetAPIKeys)
	p.Badges = badges.New(d.Store, d.Clock, o.Plans)
	p.Images = images.New(d.Store, d.Clock, o.Plans, o.PublicURL)
	p.Credentials = credentials.New(d.Store, d.Clock, p.Dispatcher, d.Cipher, o.Plans, credentials.URLs{Base: o.PublicURL}, d.Log)
	if d.Canonicalizer != nil {
		p.Credentials.UseCanonicalizer(d.Canonicalizer)
	}
	// The links of an address's credentials ("retrieve my credentials",
	// asked through accounts.Service.RequestCredentialLinks) are written
	// at delivery too, by the credential service.
	for kind, compose := range p.Credentials.Composers() {
		p.Delivery.Compose(kind, compose)
	}
	p.Verifications = work.NewTally(d.Store, d.Log, o.VerificationsEvery)
	p.Credentials.UseTally(p.Verifications)
	p.Orgs.UseTally(p.Verifications)
	p.Bulk = bulk.New(d.Store, d.Clock, p.Credentials, p.Dispatcher, o.Plans, d.Log, o.Bulk)
	p.VCAPI = vcapi.New(p.Credentials, d.Clock)
	p.VCAPI.UseEmbeddedProofs(vcapi.DataIntegrity{Credentials: p.Credentials})
	p.Webhooks = webhooks.New(d.Store, d.Clock, p.Dispatcher, d.Cipher, d.Webhooks, outbox, o.Plans, d.Log, o.Webhooks)
	p.Credentials.UseEmitter(p.Webhooks)
	p.Bulk.UseEmitter(p.Webhooks)
	p.Dispatcher.OnSweep(func(ctx context.Context) error {
		_, err := p.Credentials.AnnounceExpiries(ctx)
		return err
	})
	if d.Terms != nil {
		// Issuing through the VC-API checks each credential's JSON-LD
		// terms: without the contexts, it is not offered.
		p.VCAPI.UseIssuer(p.Credentials, d.Terms)
	}
	return p, nil
}

// Register installs the task handlers (mail delivery, bulk jobs, status
// list publishing, webhook deliveries) on w:
// call it in every process that runs a worker of Deps.Queue.
func (p *Platform) Register(w ports.Worker) {
	w.Handle(work.KindMail, p.Delivery.Handle)
	w.Handle(work.KindBulkJob, p.Bulk.Process)
	w.Handle(work.KindStatusList, p.Credentials.HandlePublish)
	w.Handle(work.KindWebhook, p.Webhooks.HandleDeliver)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
