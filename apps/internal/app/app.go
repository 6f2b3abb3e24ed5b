package app

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/adapters/asynqueue"
	"github.com/credence-dev/credence/adapters/filemail"
	"github.com/credence-dev/credence/adapters/jsonld"
	"github.com/credence-dev/credence/adapters/mailhtml"
	"github.com/credence-dev/credence/adapters/memlimit"
	"github.com/credence-dev/credence/adapters/memqueue"
	"github.com/credence-dev/credence/adapters/redislimit"
	"github.com/credence-dev/credence/adapters/smtpmail"
	"github.com/credence-dev/credence/adapters/sqlstore"
	"github.com/credence-dev/credence/adapters/sysclock"
	"github.com/credence-dev/credence/adapters/webhooksend"
	"github.com/credence-dev/credence/core/bulk"
	"github.com/credence-dev/credence/core/platform"
	"github.com/credence-dev/credence/core/signing"
	"github.com/credence-dev/credence/core/webhooks"
	"github.com/credence-dev/credence/core/work"
	"github.com/credence-dev/credence/ports"
)

// App is the wired application: adapters and core services.
type App struct {
	Config  Config
	Log     *slog.Logger
	Store   ports.Store
	Queue   ports.Queue
	Clock   ports.Clock
	MailDir string // where file mail is written ("" with SMTP)
	// MailVia tells where mail goes: the mail folder, or the SMTP server
	// (its URL without the password).
	MailVia string

	// Platform holds the core services, assembled by core/platform.
	*platform.Platform

	// Idempotency keeps the answers to POSTs sent with an Idempotency-Key,
	// sealed by ResponseSealer (a key derived from the master key, apart
	// from the one that encrypts signing keys and mail).
	Idempotency    ports.Idempotency
	ResponseSealer ports.KeyCipher

	// FormKey signs the CSRF tokens of the browser pages' forms: derived
	// from the master key, so that every replica accepts the forms of the
	// others, and apart from every other key.
	FormKey []byte

	// Limiter counts requests and requested mails: in Redis when
	// CREDENCE_REDIS_URL is set (shared by every replica), in process
	// otherwise.
	Limiter ports.RateLimiter

	// Local is the in-process worker when no Redis is configured; nil
	// otherwise (apps/worker runs the asynq worker).
	Local ports.Worker

	redisQueue *asynqueue.Queue
	redisOpt   asynq.RedisConnOpt
	// limiterClient is the rate limiter's Redis client, closed by Close.
	limiterClient redis.UniversalClient
}

// Open wires everything from cfg.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	masterKey, err := cfg.MasterKey(log)
	if err != nil {
		return nil, err
	}
	cipher, err := signing.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Clock: sysclock.Clock{}, MailDir: filepath.Join(cfg.DataDir, "mail")}
	if a.ResponseSealer, err = derivedCipher(masterKey, "credence idempotency responses v1"); err != nil {
		return nil, err
	}
	if a.FormKey, err = hkdf.Key(sha256.New, masterKey, nil, "credence form tokens v1", 32); err != nil {
		return nil, fmt.Errorf("derive the form key: %w", err)
	}
	var mailer ports.Mailer
	if cfg.SMTPURL != "" {
		m, err := smtpmail.New(cfg.SMTPURL, cfg.MailFrom, log)
		if err != nil {
			return nil, fmt.Errorf("CREDENCE_SMTP_URL: %w", err)
		}
		mailer, a.MailDir, a.MailVia = m, "", m.String()
	} else if mailer, err = filemail.New(a.MailDir, cfg.MailFrom, log); err != nil {
		return nil, err
	} else {
		a.MailVia = a.MailDir
	}
	mailer = mailhtml.Wrap(mailer, log) // every mail gets its HTML alternative
	if cfg.RedisURL != "" {
		opt, err := asynqueue.ParseRedisURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("CREDENCE_REDIS_URL: %w", err)
		}
		q := asynqueue.NewQueue(opt, asynqueue.Options{Log: log})
		a.Queue, a.redisQueue, a.redisOpt = q, q, opt
		rdb, ok := opt.MakeRedisClient().(redis.UniversalClient)
		if !ok {
			return nil, errors.New("CREDENCE_REDIS_URL: no Redis client for the rate limiter")
		}
		a.limiterClient, a.Limiter = rdb, redislimit.New(rdb, redislimit.Options{})
	} else {
		q := memqueue.New(memqueue.Options{Concurrency: cfg.Concurrency, Log: log})
		a.Queue, a.Local = q, q
		a.Limiter = memlimit.New(memlimit.Options{Clock: a.Clock})
	}
	store, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		var limiter error
		if a.limiterClient != nil {
			limiter = a.limiterClient.Close()
		}
		return nil, errors.Join(fmt.Errorf("open database: %w", err), a.Queue.Close(), limiter)
	}
	a.Store, a.Idempotency = store, store.Idempotency()

	_, _, _, emailLimit := cfg.Limits()
	canon, err := jsonld.New()
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	if cfg.WebhookAllowPrivate {
		log.Warn("CREDENCE_WEBHOOK_ALLOW_PRIVATE is on: webhooks may reach loopback and private addresses over http (development and tests only)")
	}
	sender := webhooksend.New(webhooksend.Options{AllowPrivate: cfg.WebhookAllowPrivate, Timeout: cfg.WebhookTimeout})
	a.Platform, err = platform.New(platform.Deps{Store: a.Store, Queue: a.Queue, Mailer: mailer, Cipher: cipher, Canonicalizer: canon, Terms: canon,
		Webhooks: sender, Clock: a.Clock, Limiter: a.Limiter, Log: log}, platform.Options{
		PublicURL: cfg.PublicURL, AdminEmails: cfg.AdminEmails, Plans: cfg.Plans,
		EmailLimit: emailLimit, SignInLimit: cfg.SignInLimit(), APIKeyCacheTTL: cfg.APIKeyCache,
		Work: work.Options{SweepEvery: cfg.SweepEvery, JobLease: cfg.JobLease, MailBackoff: cfg.MailBackoff,
			ActivityRetention: cfg.ActivityRetention, PruneEvery: cfg.PruneEvery},
		Bulk:     bulk.Options{ChunkSize: cfg.BulkChunk, JobLease: cfg.JobLease},
		Webhooks: webhooks.Options{AllowHTTP: cfg.WebhookAllowPrivate, Lease: 3 * cfg.WebhookTimeout},
	})
	if err != nil {
		return nil, errors.Join(err, a.Close())
	}
	if a.Local != nil {
		a.Register(a.Local)
	}
	return a, nil
}

// derivedCipher returns a cipher under a key derived from the master key
// for one purpose (HKDF-SHA256), so that no two purposes share a key.
func derivedCipher(masterKey []byte, purpose string) (*signing.Cipher, error) {
	key, err := hkdf.Key(sha256.New, masterKey, nil, purpose, signing.MasterKeySize)
	if err != nil {
		return nil, fmt.Errorf("derive a key for %s: %w", purpose, err)
	}
	return signing.NewCipher(key)
}

// NewRedisWorker returns an asynq worker with the handlers installed; it
// needs CREDENCE_REDIS_URL.
func (a *App) NewRedisWorker() (ports.Worker, error) {
	if a.redisQueue == nil {
		return nil, errors.New("CREDENCE_REDIS_URL is not set: the worker needs Redis (without it, apps/api runs the work in-process)")
	}
	// An idle worker looks for tasks 10 times a second: a submitted job starts
	// at once, for a few cheap Redis calls.
	w := asynqueue.NewWorker(a.redisOpt, asynqueue.Options{Concurrency: a.Config.Concurrency, PollInterval: 100 * time.Millisecond, Log: a.Log})
	a.Register(w)
	return w, nil
}

// Ready reports whether the database and the queue answer.
func (a *App) Ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if a.redisQueue != nil {
		if err := a.redisQueue.Ping(ctx); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}

// QueueKind names the queue for logs.
func (a *App) QueueKind() string {
	if a.redisQueue != nil {
		return "redis"
	}
	return "in-process"
}

// Close closes the queue and the database.
func (a *App) Close() error {
	var limiter error
	if a.limiterClient != nil {
		limiter = a.limiterClient.Close()
	}
	return errors.Join(a.Queue.Close(), a.Store.Close(), limiter)
}
