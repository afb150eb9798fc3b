package shard

import (
	"testing"
	"time"
)

// Reference values of MurmurHash3_x86_32 with seed 0 (from the algorithm's
// published test vectors), so a change of library cannot move rows silently.
func TestHashIsMurmur3x86_32Seed0(t *testing.T) {
	cases := map[string]uint32{
		"":              0,
		"hello":         0x248bfa47,
		"Hello, world!": 0xc0363e43,
		"The quick brown fox jumps over the lazy dog": 0x2e4ff723,
	}
	for in, want := range cases {
		if got := Hash(in); got != want {
			t.Errorf("Hash(%q) = %#x, want %#x", in, got, want)
		}
	}
}

func TestPlacement(t *testing.T) {
	c := &Table{Name: "comments", By: "hash", Column: "product_id", Count: 8, Clusters: []string{"s0", "s1"}}
	if got := c.HashTarget(5); got != (Target{"s1", "comments_5"}) {
		t.Errorf("index 5: %v", got)
	}
	if len(c.AllHashTargets()) != 8 {
		t.Error("not 8 tables")
	}
	p := &Table{Name: "payments", By: "hour", Column: "created_at", Clusters: []string{"s0", "s1"}, SubColumn: "user_id", SubCount: 4}
	a, b := p.BucketCluster("2026112410"), p.BucketCluster("2026112411")
	if a == b {
		t.Errorf("consecutive hours both on %s", a)
	}
	if got := p.BucketTargets("2026112419", []int{2}); len(got) != 1 || got[0].Table != "payments_2026112419_2" {
		t.Errorf("bucket targets %v", got)
	}
	if p.TemplateTable() != "payments_template" {
		t.Error("template name")
	}
}

func TestBucket(t *testing.T) {
	cases := map[string]string{
		"2026-11-24 10:59:59":        "2026112410",
		"2026-11-24 11:00:00":        "2026112411",
		"2026-11-24 11:00:00.000001": "2026112411",
		"2026-11-24":                 "2026112400",
		"20261124235959":             "2026112423",
	}
	for in, want := range cases {
		if got, err := Bucket(in); err != nil || got != want {
			t.Errorf("Bucket(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Bucket("yesterday"); err == nil {
		t.Error("nonsense accepted")
	}
	if NextBucket("2026112423", 1) != "2026112500" || !IsBucket("2026112423") || IsBucket("2026113224") {
		t.Error("bucket arithmetic")
	}
}

// TestParseMariaDBDatetime: every form MariaDB 10.11 accepts for a
// DATETIME (checked against CAST(… AS DATETIME) on the ref server) reads
// as the same instant, and forms it refuses are errors.
func TestParseMariaDBDatetime(t *testing.T) {
	want := time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	for _, s := range []string{
		"2026-11-27 10:30:00", "2026/11/27 10:30:00", "2026.11.27 10.30.00", "2026-11-27T10:30:00",
		"2026-11-27 10:30", "20261127103000", "261127103000", "2026-11-27 10:30:00.000", " 2026-11-27 10:30:00 ",
		"2026-11-27    10:30", "26-11-27 10:30:00", "2026-11-27 10:30:00 xyz", "20261127103000.0", "2026-11-27 10:30:00.9999999",
	} {
		got, _, err := ParseMariaDBDatetime(s)
		if err != nil || !got.Truncate(time.Second).Equal(want) {
			t.Errorf("%q: %v, %v; want %v", s, got, err, want)
		}
	}
	for s, w := range map[string]time.Time{
		"2026-11-27 12":  time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		"20261127":       time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		"261127":         time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		"2026-11-27":     time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		"1999-1-2 3:4:5": time.Date(1999, 1, 2, 3, 4, 5, 0, time.UTC),
		"99-01-02":       time.Date(1999, 1, 2, 0, 0, 0, 0, time.UTC),
	} {
		got, _, err := ParseMariaDBDatetime(s)
		if err != nil || !got.Equal(w) {
			t.Errorf("%q: %v, %v; want %v", s, got, err, w)
		}
	}
	for _, s := range []string{"2026-02-30", "2026-13-01", "2026-00-10", "2026-11-27 24:00:00", "abc", "", "12345", "2026"} {
		if got, _, err := ParseMariaDBDatetime(s); err == nil {
			t.Errorf("%q: read as %v, want an error", s, got)
		}
	}
}

func TestExpired(t *testing.T) {
	tb := &Table{Retain: 48 * time.Hour}
	now := time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC)
	for bucket, want := range map[string]bool{
		"2026112609": true,  // ended at 10:00 two days before: more than 48 h ago
		"2026112610": false, // ends at 11:00 two days before: not yet
		"2026112611": false,
		"2025010100": true,
		ZeroBucket:   false,
	} {
		if got := tb.Expired(bucket, now); got != want {
			t.Errorf("%s: expired %v, want %v", bucket, got, want)
		}
	}
	if (&Table{}).Expired("2000010100", now) {
		t.Error("a table without retain expired a bucket")
	}
}
