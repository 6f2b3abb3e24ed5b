package app

import (
	"io"
	"strings"
	"testing"
	"time"
)

// CREDENCE_ACTIVITY_RETENTION keeps activity a year by default, forever
// with 0 or "forever"; CREDENCE_PRUNE_INTERVAL sets how often
// housekeeping runs (hourly by default); bad values are refused with the
// variable's name and value.
func TestConfigHousekeeping(t *testing.T) {
	for name, tc := range map[string]struct {
		env              map[string]string
		retention, every time.Duration
	}{
		"defaults":       {nil, 8760 * time.Hour, time.Hour},
		"thirty_days":    {map[string]string{"CREDENCE_ACTIVITY_RETENTION": " 720h "}, 720 * time.Hour, time.Hour},
		"zero_forever":   {map[string]string{"CREDENCE_ACTIVITY_RETENTION": "0"}, 0, time.Hour},
		"zero_duration":  {map[string]string{"CREDENCE_ACTIVITY_RETENTION": "0s"}, 0, time.Hour},
		"forever":        {map[string]string{"CREDENCE_ACTIVITY_RETENTION": "Forever"}, 0, time.Hour},
		"prune_interval": {map[string]string{"CREDENCE_PRUNE_INTERVAL": "15m"}, 8760 * time.Hour, 15 * time.Minute},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ActivityRetention != tc.retention || cfg.PruneEvery != tc.every {
				t.Errorf("retention %v, prune every %v; want %v, %v", cfg.ActivityRetention, cfg.PruneEvery, tc.retention, tc.every)
			}
		})
	}

	for name, tc := range map[string]struct{ env map[string]string }{
		"retention_days":      {map[string]string{"CREDENCE_ACTIVITY_RETENTION": "365d"}},
		"retention_negative":  {map[string]string{"CREDENCE_ACTIVITY_RETENTION": "-1h"}},
		"retention_no_unit":   {map[string]string{"CREDENCE_ACTIVITY_RETENTION": "365"}},
		"retention_word":      {map[string]string{"CREDENCE_ACTIVITY_RETENTION": "never"}},
		"prune_interval_zero": {map[string]string{"CREDENCE_PRUNE_INTERVAL": "0"}},
		"prune_interval_word": {map[string]string{"CREDENCE_PRUNE_INTERVAL": "hourly"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			for k, v := range tc.env {
				if err == nil || !strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), `"`+v+`"`) {
					t.Fatalf("got %v, want an error naming %s and quoting %q", err, k, v)
				}
			}
		})
	}
}

// Open hands the housekeeping settings to the dispatcher.
func TestOpenWiresHousekeeping(t *testing.T) {
	cfg, err := Load(env(map[string]string{"CREDENCE_DATA_DIR": t.TempDir(), "CREDENCE_MASTER_KEY": strings.Repeat("ab", 32),
		"CREDENCE_ACTIVITY_RETENTION": "720h", "CREDENCE_PRUNE_INTERVAL": "15m"}))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(t.Context(), cfg, newTestLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if o := a.Dispatcher.Options(); o.ActivityRetention != 720*time.Hour || o.PruneEvery != 15*time.Minute {
		t.Errorf("dispatcher options: retention %v, prune every %v; want 720h, 15m", o.ActivityRetention, o.PruneEvery)
	}
}
