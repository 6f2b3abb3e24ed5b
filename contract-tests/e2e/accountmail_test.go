package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/uptrace/bun/driver/pgdriver"
)

// TestAccountMailThroughWorker runs apps/api over Redis with an apps/worker
// process, which delivers, and so composes, the account mail: sign-up
// links (the administrator's and a user's), the notice of a sign-up with a
// taken email, a reset link that works; the reset and lock-out notice of
// an unregistered email end dropped, their address erased. (The e2e scenarios cover apps/api's
// in-process queue.)
func TestAccountMailThroughWorker(t *testing.T) {
	t.Parallel()
	s := startServer(t, "postgres", withEnv("CREDENCE_REDIS_URL", freshRedisDB(t, redisAccountMail)))
	s.startWorker(t, "mail")
	e := envFor(t, s)
	u := e.newUser(t, "viaworker")
	anon := e.anon(t)
	anon.expect(http.StatusCreated, http.MethodPost, "/api/v1/auth/signup",
		map[string]string{"email": u.Email, "password": "another passphrase here", "name": "Impostor"}, nil)
	e.latestMail(t, u.Email, "Someone tried to sign up")
	anon.expect(http.StatusOK, http.MethodPost, "/api/v1/auth/password-reset/confirm",
		map[string]string{"token": e.resetToken(t, u.Email), "password": "a passphrase set via the worker"}, nil)

	ghost := uniqueEmail("ghost")
	anon.expect(http.StatusAccepted, http.MethodPost, "/api/v1/auth/password-reset", map[string]string{"email": ghost}, nil)
	for range 5 {
		anon.do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": ghost, "password": "wrong password"})
	}
	// Dropped mail keeps no address: wait until none is left to the ghost
	// and both are dropped.
	db := sql.OpenDB(pgdriver.NewConnector(pgdriver.WithDSN(s.dsn)))
	defer db.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var toGhost, dropped int
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE to_addr = $1), count(*) FILTER (WHERE status = 'dropped') FROM mails`,
			ghost).Scan(&toGhost, &dropped)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if toGhost == 0 && dropped == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mails still to an unregistered email, %d dropped; want none and two (reset, lock-out notice)", toGhost, dropped)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(e.mails(t, ghost)); n != 0 {
		t.Errorf("%d mails sent to an unregistered email", n)
	}
}
