package sqlstore

import "testing"

// Concurrent one-statement first issues each count in a shard of their
// own while there are shards to go round (so none waits on another's row
// lock), and in a shard below the plan's limit always.
func TestShardTokensAreExclusive(t *testing.T) {
	t.Parallel()
	var tokens shardTokens
	held := map[int]bool{}
	var puts []func()
	for range quotaShards {
		sh, put := tokens.take(quotaShards)
		if held[sh] {
			t.Fatalf("shard %d handed out twice while held", sh)
		}
		held[sh] = true
		puts = append(puts, put)
	}
	if sh, _ := tokens.take(3); sh < 0 || sh >= 3 {
		t.Fatalf("with every token out: shard %d, want one below 3", sh)
	}
	puts[5]()
	if sh, _ := tokens.take(quotaShards); !held[sh] || sh != 5 {
		t.Fatalf("after shard 5 came back: shard %d, want 5", sh)
	}
	for _, put := range puts[6:] {
		put()
	}
	for range 20 {
		if sh, put := tokens.take(3); sh >= 3 {
			t.Fatalf("limit of 3 recipients: shard %d", sh)
		} else {
			put()
		}
	}
}
