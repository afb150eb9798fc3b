package router

import (
	"testing"
	"time"
)

// TestSystemZone: the servers' SYSTEM zone is the proxy's local zone, with
// its daylight-saving rules, when that zone has the name and offset the
// server reports at the moment; otherwise a fixed zone of the reported
// name and offset (re-read every zoneRefresh).
func TestSystemZone(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("time zone database: %v", err)
	}
	winter := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	summer := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		local     *time.Location
		reported  string
		offset    int
		now       time.Time
		wantLocal bool
	}{
		{"same zone in winter", newYork, "EST", -18000, winter, true},
		{"same zone in summer", newYork, "EDT", -14400, summer, true},
		{"other name", newYork, "CET", 3600, winter, false},
		{"same name, other offset", newYork, "EST", -14400, winter, false},
		{"utc", time.UTC, "UTC", 0, winter, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := systemZone(c.local, c.reported, c.offset, c.now)
			if (got == c.local) != c.wantLocal {
				t.Fatalf("got %v, want local: %v", got, c.wantLocal)
			}
			name, off := c.now.In(got).Zone()
			if name != c.reported || off != c.offset {
				t.Errorf("at %s the zone says %s %d, the server %s %d", c.now, name, off, c.reported, c.offset)
			}
		})
	}
	// With the local zone, the spring-forward edge is seen at once.
	loc := systemZone(newYork, "EST", -18000, winter)
	if name, _ := time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC).In(loc).Zone(); name != "EDT" {
		t.Errorf("after spring forward: %s, want EDT", name)
	}
}

// TestZoneSourceWithoutServer: offsets and zone names need no server.
func TestZoneSourceWithoutServer(t *testing.T) {
	z := newZoneSource(nil, time.Now)
	for name, want := range map[string]int{"+05:30": 19800, "-03:00": -10800, "Asia/Kolkata": 19800} {
		loc, err := z.Zone(name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); off != want {
			t.Errorf("%s: offset %d, want %d", name, off, want)
		}
	}
	if _, err := z.Zone("Nowhere/Special"); err == nil {
		t.Error("an unknown zone name was accepted")
	}
}
