package ports

import (
	"context"
	"time"
)

// Retention deletes what has outlived its use, in bounded batches, so that
// tables written on every sign-in and change do not grow forever.
//
// Contract (checked by contract-tests/store):
//   - PruneActivity deletes activity entries recorded strictly before
//     before, of every organization (and of none) alike, oldest first, at
//     most limit of them; it returns how many it deleted. Fewer than limit
//     means none was left, unless another call ran beside it.
//   - PruneEnded deletes, at most limit of each kind, what ended strictly
//     before before and returns how many of each it deleted:
//     sessions revoked or past their absolute expiry (a session ended by
//     idleness goes once its absolute expiry passes, at most
//     domain.SessionTTL later); emailed tokens and MFA challenges used or
//     expired; sign-in guards whose failure-counting window
//     (domain.LoginFailureWindow after WindowStart) ended and whose
//     lock-out, if any, ended with the quiet day after it
//     (domain.MaxLockout after LockedUntil) that starts escalation over;
//     known devices revoked or past their ExpiresAt.
//     It never deletes a row still live at before: an unexpired unrevoked
//     session or device, an unused unexpired token or challenge, a guard
//     still locking, counting failures or remembering lock-outs in a row.
//   - Concurrent calls delete each row once; their counts add up to what
//     was deleted.
//   - Outside a transaction each statement commits on its own, so no call
//     holds locks for long; inside one the calls join it (and a rollback
//     restores what they deleted).
type Retention interface {
	PruneActivity(ctx context.Context, before time.Time, limit int) (int, error)
	// PruneDeliveries deletes up to limit webhook delivery attempts made
	// before before, up to limit deliveries done (succeeded or failed)
	// and up to limit recorded events created before it, oldest first; it
	// returns the largest count (a batch is full when any is).
	PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
	PruneEnded(ctx context.Context, before time.Time, limit int) (Pruned, error)
}

// Pruned counts what Retention.PruneEnded deleted, by kind.
type Pruned struct {
	Sessions      int
	EmailTokens   int
	MFAChallenges int
	LoginGuards   int
	Devices       int
}

// Add returns the sums of p's and q's counts.
func (p Pruned) Add(q Pruned) Pruned {
	return Pruned{Sessions: p.Sessions + q.Sessions, EmailTokens: p.EmailTokens + q.EmailTokens,
		MFAChallenges: p.MFAChallenges + q.MFAChallenges, LoginGuards: p.LoginGuards + q.LoginGuards,
		Devices: p.Devices + q.Devices}
}

// Most returns the largest count: a batch is full when it reaches the limit.
func (p Pruned) Most() int {
	return max(p.Sessions, p.EmailTokens, p.MFAChallenges, p.LoginGuards, p.Devices)
}

// Total returns the sum of the counts.
func (p Pruned) Total() int {
	return p.Sessions + p.EmailTokens + p.MFAChallenges + p.LoginGuards + p.Devices
}
