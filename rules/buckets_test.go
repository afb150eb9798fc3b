package rules

import (
	"strings"
	"testing"
	"time"
)

// hourly is base plus a schema with one hourly table; extra goes under the
// table (indented by 8) and top adds top-level keys.
func hourly(extra, top string) string {
	return base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      p:\n        shard: {by: hour, column: at, clusters: [main]}\n" + extra + top
}

// Issue 13 item 9: the bucket window and refresh intervals are validated
// with the line they are on.
func TestBucketRulesRefused(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"negative past", hourly("        buckets: {past: -1h}\n", ""),
			"rules.yaml:13: schema shop: table p: buckets.past -1h0m0s: must be between 0 and 876000h0m0s (100 years)"},
		{"future beyond 100 years", hourly("        buckets:\n          future: 900000h\n", ""),
			"rules.yaml:14: schema shop: table p: buckets.future 900000h0m0s: must be between 0 and"},
		{"not a duration", hourly("        buckets: {past: a year}\n", ""),
			"rules.yaml:13: "},
		{"unknown key", hourly("        buckets: {past: 1h, ahead: 2h}\n", ""),
			`rules.yaml:13: unknown key "ahead" (known: past, future, retain, archive)`},
		{"retain shorter than past", hourly("        buckets: {past: 48h, retain: 24h}\n", ""),
			"rules.yaml:13: schema shop: table p: buckets.retain 24h0m0s is shorter than buckets.past 48h0m0s"},
		{"archive without retain", hourly("        buckets: {archive: rename}\n", ""),
			"rules.yaml:13: schema shop: table p: buckets.archive needs buckets.retain"},
		{"unknown archive", hourly("        buckets: {past: 1h, retain: 2h, archive: move}\n", ""),
			`rules.yaml:13: schema shop: table p: buckets.archive "move": use drop or rename`},
		{"no value", hourly("        buckets:\n", ""),
			"rules.yaml:13: schema shop: table p: buckets has no value"},
		{"on a hash table", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        shard: {by: hash, column: id, tables: 2, clusters: [main]}\n        buckets: {past: 1h}\n",
			"rules.yaml:13: schema shop: table c: buckets applies to tables with shard: {by: hour} only"},
		{"on a cluster table", base + "schemas:\n  shop:\n    cluster: main\n    tables:\n      c:\n        cluster: main\n        buckets: {past: 1h}\n",
			"rules.yaml:13: schema shop: table c: buckets applies to tables with shard: {by: hour} only"},
		{"negative refresh interval", hourly("", "bucket_refresh_interval: -1s\n"),
			"rules.yaml:13: bucket_refresh_interval -1s: must be at least 10ms"},
		{"tiny recheck interval", hourly("", "bucket_recheck_interval: 1ns\n"),
			"rules.yaml:13: bucket_recheck_interval 1ns: must be at least 10ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("rules.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// Keys left out get the defaults; an explicit 0 stays 0 (only the current
// hour on that side).
func TestBucketRulesDefaults(t *testing.T) {
	for _, c := range []struct {
		name, yaml       string
		past, future     time.Duration
		refresh, recheck time.Duration
	}{
		{"defaults", hourly("", ""), 8760 * time.Hour, 48 * time.Hour, 10 * time.Second, time.Second},
		{"past only", hourly("        buckets: {past: 720h}\n", ""), 720 * time.Hour, 48 * time.Hour, 10 * time.Second, time.Second},
		{"explicit zero future", hourly("        buckets: {future: 0s}\n", ""), 8760 * time.Hour, 0, 10 * time.Second, time.Second},
		{"both and intervals", hourly("        buckets: {past: 2h, future: 30m}\n", "bucket_refresh_interval: 2s\nbucket_recheck_interval: 10ms\n"),
			2 * time.Hour, 30 * time.Minute, 2 * time.Second, 10 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse("rules.yaml", []byte(c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			w := r.Schemas["shop"].Tables["p"].Buckets
			if w == nil || w.Past != c.past || w.Future != c.future {
				t.Fatalf("window %+v, want past %s future %s", w, c.past, c.future)
			}
			if r.BucketRefreshInterval != c.refresh || r.BucketRecheckInterval != c.recheck {
				t.Fatalf("intervals %s %s, want %s %s", r.BucketRefreshInterval, r.BucketRecheckInterval, c.refresh, c.recheck)
			}
		})
	}
}
