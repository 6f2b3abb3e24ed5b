package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// concurrency is how many issuers race in the concurrent scenarios.
const concurrency = 8

// race sends the same kind of request from n goroutines at once and
// returns the responses (a transport error fails the test).
func race(t *testing.T, c *client, n int, method, path string, body func(i int) any) []*response {
	t.Helper()
	out := make([]*response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = c.send(method, path, body(i))
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// testConcurrentIssuers: concurrent issuers never create a duplicate, lose
// a renewal or fail with a 5xx.
func testConcurrentIssuers(t *testing.T, e *env) {
	owner, o := e.newIssuer(t, "")
	credentials := "/api/v1/orgs/" + o.ID + "/credentials"

	t.Run("non_expiring_admits_one", func(t *testing.T) {
		t.Parallel()
		c := e.as(t, owner.Token)
		b := createBadge(c, o.ID, 0)
		email := uniqueEmail("race")
		rs := race(t, c, concurrency, http.MethodPost, credentials, func(i int) any {
			variant := email
			if i%2 == 1 {
				variant = " " + strings.ToUpper(email)
			}
			return issueBody(b.ID, "Ray Race", variant)
		})
		var winners []string
		var existing []string
		for _, r := range rs {
			switch r.Status {
			case http.StatusCreated:
				var cr credential
				if err := json.Unmarshal(r.Body, &cr); err != nil {
					t.Fatal(err)
				}
				winners = append(winners, cr.ID)
			case http.StatusConflict:
				p := decodeProblem(t, r)
				if p.Code != "DUPLICATE_CREDENTIAL" {
					t.Errorf("a losing issuer: %s", r)
				}
				existing = append(existing, p.ExistingCredentialID)
			default:
				t.Errorf("a racing issuer: %s", r)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d of %d concurrent issues succeeded, want exactly 1: %v", len(winners), concurrency, winners)
		}
		for _, id := range existing {
			if id != winners[0] {
				t.Errorf("DUPLICATE_CREDENTIAL names %q, want the winner %s", id, winners[0])
			}
		}
		if got := listCredentials(c, o.ID, "?badgeId="+b.ID); len(got) != 1 {
			t.Errorf("%d credentials stored, want 1", len(got))
		}
	})

	t.Run("time_bound_renewals_chain", func(t *testing.T) {
		t.Parallel()
		c := e.as(t, owner.Token)
		// Several rounds with more issuers: losing a race several times
		// in a row is what a busy issuer meets.
		for round := range renewalRounds {
			b := createBadge(c, o.ID, 90)
			renewalRace(t, c, o.ID, b.ID, uniqueEmail(fmt.Sprintf("renewrace%d", round)))
			if t.Failed() {
				return
			}
		}
	})
}

// Renewal races: rounds of 2×concurrency issuers of one time-bound badge
// to one recipient.
const renewalRounds = 3

// renewalRace issues a time-bound badge to one email from many goroutines
// at once: every issuer must get 201 (each renews the one before), and the
// stored credentials must form one chain.
func renewalRace(t *testing.T, c *client, orgID, badgeID, email string) {
	t.Helper()
	rs := race(t, c, 2*concurrency, http.MethodPost, "/api/v1/orgs/"+orgID+"/credentials", func(int) any {
		return issueBody(badgeID, "Rena Race", email)
	})
	issued := map[string]bool{}
	for _, r := range rs {
		if r.Status != http.StatusCreated {
			t.Errorf("a concurrent renewal (each should renew the one before): %s", r)
			continue
		}
		var cr credential
		if err := json.Unmarshal(r.Body, &cr); err != nil {
			t.Fatal(err)
		}
		issued[cr.ID] = true
	}
	// Every stored credential was answered with 201, and they form one
	// chain: one head, every other one revoked by its renewal.
	stored := listCredentials(c, orgID, "?badgeId="+badgeID)
	if len(stored) != len(issued) {
		t.Errorf("%d credentials stored, %d answered with 201", len(stored), len(issued))
	}
	byID := map[string]credential{}
	var heads []string
	for _, cr := range stored {
		byID[cr.ID] = cr
		if !issued[cr.ID] {
			t.Errorf("stored credential %s was never answered with 201", cr.ID)
		}
		if cr.SupersededByCredentialID == "" {
			heads = append(heads, cr.ID)
			if cr.Status != "pending" {
				t.Errorf("the head %s has status %q, want pending", cr.ID, cr.Status)
			}
		} else if cr.Status != "revoked" || cr.RevocationReason != "superseded by renewal" {
			t.Errorf("renewed-away %s: status %q reason %q", cr.ID, cr.Status, cr.RevocationReason)
		}
	}
	if len(heads) != 1 {
		t.Fatalf("heads of the chain: %v, want exactly one", heads)
	}
	seen := map[string]bool{}
	for id := heads[0]; id != ""; id = byID[id].SupersedesCredentialID {
		if seen[id] {
			t.Fatalf("the chain loops at %s", id)
		}
		seen[id] = true
		if prev := byID[id].SupersedesCredentialID; prev != "" && byID[prev].SupersededByCredentialID != id {
			t.Errorf("%s supersedes %s, which names %q as its successor", id, prev, byID[prev].SupersededByCredentialID)
		}
	}
	if len(seen) != len(stored) {
		t.Errorf("the chain from %s holds %d of the %d credentials", heads[0], len(seen), len(stored))
	}

	// Paging through them in threes gives the same list, newest first.
	var all, paged []string
	for _, cr := range stored {
		all = append(all, cr.ID)
	}
	for _, cr := range listPaged(c, orgID, "?badgeId="+badgeID, 3) {
		paged = append(paged, cr.ID)
	}
	if !slices.Equal(all, paged) {
		t.Errorf("pages of 3: %v, one page: %v", paged, all)
	}
	for i := 1; i < len(stored); i++ {
		if stored[i].IssuedAt.After(stored[i-1].IssuedAt) {
			t.Errorf("not newest first: %s (%s) after %s (%s)", stored[i].ID, stored[i].IssuedAt, stored[i-1].ID, stored[i-1].IssuedAt)
		}
	}
}

// listCredentials returns every credential of the organization matching
// query (which starts with "?"), following cursors.
func listCredentials(c *client, orgID, query string) []credential {
	c.t.Helper()
	return listPaged(c, orgID, query, 100)
}

// listPaged lists with pages of size items.
func listPaged(c *client, orgID, query string, size int) []credential {
	c.t.Helper()
	var out []credential
	cursor := ""
	for range 100 {
		var page struct {
			Items      []credential `json:"items"`
			NextCursor string       `json:"nextCursor"`
		}
		path := fmt.Sprintf("/api/v1/orgs/%s/credentials%s&limit=%d", orgID, query, size)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		c.expect(http.StatusOK, http.MethodGet, path, nil, &page)
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
	}
	c.t.Fatalf("more than 100 pages of credentials")
	return nil
}
