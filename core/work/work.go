// Package work moves background work from the database to the queue and
// back: the relay that hands freshly written outbox rows (queued mail,
// submitted bulk jobs) to the queue after their transaction commits, the
// sweep that finds rows whose relay or worker was lost and hands them over
// again, the delivery of mail, and the housekeeping that deletes what has
// outlived its use. The database is the record of what must be done; the
// queue only carries "work to do now", so a lost or repeated task costs
// nothing.
package work

import (
	"time"
)

// Task kinds.
const (
	KindMail    = "mail.send"    // payload: MailTask
	KindBulkJob = "bulk.process" // payload: JobTask
	// KindStatusList publishes status lists again (payload:
	// StatusListTask).
	KindStatusList = "statuslist.publish"
	// KindWebhook attempts webhook deliveries (payload: WebhookTask).
	KindWebhook = "webhook.deliver"
)

// WebhookTask names webhook deliveries to attempt.
type WebhookTask struct {
	IDs []string `json:"ids"`
}

// webhookBatch bounds the deliveries one task carries.
const webhookBatch = 100

// StatusListTask names status lists to publish.
type StatusListTask struct {
	IDs []string `json:"ids"`
}

// MailTask names mails to attempt.
type MailTask struct {
	IDs []string `json:"ids"`
}

// JobTask names a bulk job to process.
type JobTask struct {
	JobID string `json:"jobId"`
}

// RelayGrace is how long the sweep leaves a freshly written outbox row to
// the relay of the process that wrote it. Writers set a new row's next
// attempt (a mail's, a job's lease) to now + RelayGrace.
const RelayGrace = 30 * time.Second

// Options tune the relay, the sweep and mail delivery.
type Options struct {
	SweepEvery   time.Duration                   // how often the sweep runs (default 5s)
	JobLease     time.Duration                   // how long a bulk worker holds a job between chunks (default 30s)
	MailLease    time.Duration                   // how long one send attempt may take before the mail is taken again (default 2m)
	MailAttempts int                             // attempts before a mail fails for good (default 8)
	MailBackoff  func(attempt int) time.Duration // wait after failed attempt n (default 1m·4^(n-1), at most 12h)
	MailBatch    int                             // mails per task (default 100)
	// ActivityRetention is how long activity entries are kept (0: forever).
	ActivityRetention time.Duration
	PruneEvery        time.Duration // how often housekeeping runs (default 1h)
}

func (o Options) withDefaults() Options {
	if o.SweepEvery <= 0 {
		o.SweepEvery = 5 * time.Second
	}
	if o.JobLease <= 0 {
		o.JobLease = 30 * time.Second
	}
	if o.MailLease <= 0 {
		o.MailLease = 2 * time.Minute
	}
	if o.MailAttempts <= 0 {
		o.MailAttempts = 8
	}
	if o.MailBackoff == nil {
		o.MailBackoff = DefaultMailBackoff
	}
	if o.MailBatch <= 0 {
		o.MailBatch = 100
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.ActivityRetention < 0 {
		o.ActivityRetention = 0
	}
	return o
}

// DefaultMailBackoff waits 1 minute after the first failed attempt, four
// times longer after each next one, and at most 12 hours: 8 attempts span
// about a day.
func DefaultMailBackoff(attempt int) time.Duration { return MailBackoff(time.Minute, attempt) }

// MailBackoff is the wait after failed attempt n when the first wait is
// first: four times longer after each next attempt, at most 12 hours.
func MailBackoff(first time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < 12*time.Hour; i++ {
		d *= 4
	}
	return min(d, 12*time.Hour)
}
