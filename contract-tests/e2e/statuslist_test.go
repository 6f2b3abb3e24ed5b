package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/core/statuslist"
)

// TestStatusListsThroughWorker runs apps/api on PostgreSQL over Redis with
// an apps/worker process, which publishes the status lists: a revocation
// reaches the public list; a suspension made while the worker is down
// reaches it once the worker is back (its task waits in Redis); and one
// whose task was lost with Redis's data reaches it through the sweep,
// which finds the list's unpublished change in the database. Meanwhile
// Credence's own verification already says suspended: it reads the record
// as well as the list.
func TestStatusListsThroughWorker(t *testing.T) {
	t.Parallel()
	redisURL := freshRedisDB(t, redisStatusLists)
	s := startServer(t, "postgres", withEnv("CREDENCE_REDIS_URL", redisURL))
	w := s.startWorker(t, "lists")
	e := envFor(t, s)
	owner, o := e.newIssuer(t, "")
	c := e.as(t, owner.Token)
	b := createBadge(c, o.ID, 0)
	type placed struct {
		ID         string `json:"id"`
		StatusList struct {
			Index          int    `json:"index"`
			RevocationList string `json:"revocationList"`
			SuspensionList string `json:"suspensionList"`
		} `json:"statusList"`
	}
	get := func(id string) placed {
		var p placed
		c.expect(http.StatusOK, http.MethodGet, "/api/v1/orgs/"+o.ID+"/credentials/"+id, nil, &p)
		if p.StatusList.RevocationList == "" {
			t.Fatalf("credential %s has no status list", id)
		}
		return p
	}
	anon := e.anon(t)
	bit := func(listURL string, index int) bool {
		u, err := url.Parse(listURL)
		if err != nil {
			t.Fatal(err)
		}
		var list statuslist.Credential
		r := anon.expect(http.StatusOK, http.MethodGet, u.Path, nil, nil, "Accept", "application/vc")
		if err := json.Unmarshal(r.Body, &list); err != nil {
			t.Fatal(err)
		}
		bits, err := statuslist.Decode(list.CredentialSubject.EncodedList)
		if err != nil {
			t.Fatal(err)
		}
		on, err := bits.Get(index)
		if err != nil {
			t.Fatal(err)
		}
		return on
	}
	eventually := func(what, listURL string, index int, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for !bit(listURL, index) {
			if time.Since(start) > within {
				t.Fatalf("%s: the public list did not show it within %s", what, within)
			}
			time.Sleep(50 * time.Millisecond)
		}
		return time.Since(start)
	}
	verdict := func(id string) string {
		var v struct {
			Result string `json:"result"`
		}
		anon.expect(http.StatusOK, http.MethodGet, "/api/v1/credentials/"+id+"/verify", nil, &v)
		return v.Result
	}

	first := get(issue(c, o.ID, b.ID, "Rae Recipient", uniqueEmail("rae")).ID)
	if bit(first.StatusList.RevocationList, first.StatusList.Index) {
		t.Fatal("a fresh credential reads revoked")
	}
	c.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+first.ID+"/revoke", map[string]string{"reason": "issued in error"}, nil)
	took := eventually("revocation", first.StatusList.RevocationList, first.StatusList.Index, 20*time.Second)
	t.Logf("revocation published %s after the request", took.Round(time.Millisecond))

	// The worker down: the change waits in Redis.
	second := get(issue(c, o.ID, b.ID, "Sam Second", uniqueEmail("sam")).ID)
	w.kill(t)
	c.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+second.ID+"/suspend", map[string]string{"reason": "under review"}, nil)
	time.Sleep(time.Second)
	if bit(second.StatusList.SuspensionList, second.StatusList.Index) {
		t.Fatal("the list changed with no worker running")
	}
	if got := verdict(second.ID); got != "suspended" {
		t.Errorf("verify while the list lags: %s, want suspended", got)
	}
	w.restart(t)
	eventually("suspension after the worker's restart", second.StatusList.SuspensionList, second.StatusList.Index, 20*time.Second)

	// The task lost with Redis's data: the sweep publishes the list once
	// its relay grace (30 s) has passed.
	w.kill(t)
	third := get(issue(c, o.ID, b.ID, "Tia Third", uniqueEmail("tia")).ID)
	c.expect(http.StatusOK, http.MethodPost, "/api/v1/orgs/"+o.ID+"/credentials/"+third.ID+"/revoke", map[string]string{"reason": "stolen"}, nil)
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	keys, err := rdb.Keys(ctx, "asynq:*").Result()
	if err == nil && len(keys) > 0 {
		err = rdb.Del(ctx, keys...).Err()
	}
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	w.restart(t)
	took = eventually("revocation whose task was lost", third.StatusList.RevocationList, third.StatusList.Index, 60*time.Second)
	t.Logf("lost task: list published %s after the worker's restart (the sweep)", took.Round(time.Second))
	if got := verdict(third.ID); got != "revoked" {
		t.Errorf("verify after the sweep: %s", got)
	}
	if !strings.Contains(w.log.String(), "status list published") {
		t.Error("the worker's log does not say it published a status list")
	}
}
