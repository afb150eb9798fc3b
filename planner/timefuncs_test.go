package planner

import (
	"strings"
	"testing"
	"time"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
)

// stubZones answers every name with one zone (the servers' SYSTEM zone in
// these tests) and counts the questions.
type stubZones struct {
	loc   *time.Location
	asked int
}

func (s *stubZones) Zone(name string) (*time.Location, error) {
	s.asked++
	if name != "" && !strings.EqualFold(name, "SYSTEM") {
		loc, err := time.LoadLocation(name)
		if err != nil {
			return nil, unknownZone(name)
		}
		return loc, nil
	}
	return s.loc, nil
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone database: %v", err)
	}
	return loc
}

// TestTimeFunctionsAsHour: a time function giving an hourly table's hour
// is evaluated as MariaDB evaluates it for the session (its time_zone,
// wall-clock interval arithmetic, fractional digits cut), rendered into
// the statement, and the row goes to the bucket of that value.
func TestTimeFunctionsAsHour(t *testing.T) {
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nov := time.Date(2026, 11, 24, 19, 5, 6, 123456789, time.UTC)
	newYork := mustZone(t, "America/New_York")
	cases := []struct {
		name, zone, expr string
		now              time.Time
		system           *time.Location // the servers' SYSTEM zone
		want             string         // the literal; "" for a refusal
	}{
		{"now utc", "", "NOW()", nov, time.UTC, "2026-11-24 19:05:06"},
		{"now offset east", "+05:30", "NOW()", nov, time.UTC, "2026-11-25 00:35:06"},
		{"zone as the session recorded it", "_utf8mb4 X'2b30353a3330'", "NOW()", nov, time.UTC, "2026-11-25 00:35:06"},
		{"zone quoted", "'-08:00'", "NOW()", nov, time.UTC, "2026-11-24 11:05:06"},
		{"current_timestamp offset west", "-08:00", "CURRENT_TIMESTAMP()", nov, time.UTC, "2026-11-24 11:05:06"},
		{"current_timestamp bare", "-08:00", "CURRENT_TIMESTAMP", nov, time.UTC, "2026-11-24 11:05:06"},
		{"localtimestamp", "+01:00", "LOCALTIMESTAMP()", nov, time.UTC, "2026-11-24 20:05:06"},
		{"utc_timestamp ignores the zone", "+05:30", "UTC_TIMESTAMP()", nov, time.UTC, "2026-11-24 19:05:06"},
		{"utc_timestamp precision", "+05:30", "UTC_TIMESTAMP(2)", nov, time.UTC, "2026-11-24 19:05:06.12"},
		{"now(6)", "", "NOW(6)", nov, time.UTC, "2026-11-24 19:05:06.123456"},
		{"current_timestamp(3) cut, not rounded", "+13:00", "CURRENT_TIMESTAMP(3)", nov.Add(876 * time.Microsecond), time.UTC, "2026-11-25 08:05:06.124"},
		{"plus interval", "", "NOW() + INTERVAL 1 HOUR", nov, time.UTC, "2026-11-24 20:05:06"},
		{"interval first", "", "INTERVAL 2 HOUR + NOW()", nov, time.UTC, "2026-11-24 21:05:06"},
		{"minus interval", "+05:30", "NOW() - INTERVAL 1 DAY", nov, time.UTC, "2026-11-24 00:35:06"},
		{"date_add minutes", "", "DATE_ADD(NOW(), INTERVAL 90 MINUTE)", nov, time.UTC, "2026-11-24 20:35:06"},
		{"date_add string count", "", "DATE_ADD(NOW(), INTERVAL '2' HOUR)", nov, time.UTC, "2026-11-24 21:05:06"},
		{"date_sub negative", "", "DATE_SUB(NOW(), INTERVAL -3 HOUR)", nov, time.UTC, "2026-11-24 22:05:06"},
		{"adddate nested", "", "ADDDATE(NOW() - INTERVAL 1 WEEK, INTERVAL 30 SECOND)", nov, time.UTC, "2026-11-17 19:05:36"},
		{"microsecond gives six digits", "", "NOW() + INTERVAL 1 MICROSECOND", nov, time.UTC, "2026-11-24 19:05:06.000001"},
		{"month clamps the day", "", "NOW() - INTERVAL 1 MONTH", time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC), time.UTC, "2026-02-28 10:00:00"},
		{"quarter back over a year", "", "NOW() - INTERVAL 1 QUARTER", time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), time.UTC, "2025-10-31 10:00:00"},
		{"years back", "", "DATE_SUB(NOW(), INTERVAL 2 YEAR)", time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC), time.UTC, "2024-02-28 10:00:00"},
		{"year to a leap day's year", "", "DATE_SUB(NOW(), INTERVAL 4 YEAR)", time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC), time.UTC, "2024-02-29 10:00:00"},
		{"year from a leap day clamps", "", "DATE_SUB(NOW(), INTERVAL 1 YEAR)", time.Date(2028, 2, 29, 10, 0, 0, 0, time.UTC), time.UTC, "2027-02-28 10:00:00"},
		// SYSTEM: the servers' zone, daylight-saving edges included.
		{"system before spring forward", "SYSTEM", "NOW()", time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), newYork, "2026-03-08 01:30:00"},
		{"system after spring forward", "SYSTEM", "NOW()", time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), newYork, "2026-03-08 03:30:00"},
		{"interval across spring forward is wall clock", "SYSTEM", "NOW() + INTERVAL 1 HOUR", time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), newYork, "2026-03-08 02:30:00"},
		{"server default is SYSTEM", "", "NOW()", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), newYork, "2026-11-01 01:30:00"},
		{"system after fall back", "system", "NOW()", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), newYork, "2026-11-01 01:30:00"},
		{"named zone summer", "Europe/Berlin", "NOW()", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.UTC, "2026-10-25 02:30:00"},
		{"named zone winter", "Europe/Berlin", "NOW()", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), time.UTC, "2026-10-25 02:30:00"},
		// Left to the server's own rules: refused as any expression is.
		{"fractional interval", "", "NOW() + INTERVAL 1.5 HOUR", nov, time.UTC, ""},
		{"compound unit", "", "NOW() + INTERVAL '1:30' HOUR_MINUTE", nov, time.UTC, ""},
		{"precision 7", "", "NOW(7)", nov, time.UTC, ""},
		{"other function", "", "FROM_UNIXTIME(0)", nov, time.UTC, ""},
		{"unknown zone", "Mars/Olympus", "NOW()", nov, time.UTC, ""},
	}
	p := parser.New()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			zones := &stubZones{loc: c.system}
			now := c.now
			pl := New(r, fixedBuckets{}, func() time.Time { return now })
			pl.SetZones(zones)
			stmts, err := p.Parse("INSERT INTO payments (id, user_id, created_at) VALUES (1, 7, " + c.expr + ")")
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pl.Plan(stmts[0], Facts{DB: "shop", TimeZone: c.zone})
			if c.want == "" {
				if err == nil {
					t.Fatalf("planned, want a refusal:\n%s", plan)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			routes := plan.Routes()
			if len(routes) != 1 {
				t.Fatalf("%d routes, want 1:\n%s", len(routes), plan)
			}
			if !strings.Contains(routes[0].SQL, "'"+c.want+"'") {
				t.Errorf("statement %s, want the literal '%s' in it", routes[0].SQL, c.want)
			}
			bucket := strings.NewReplacer("-", "", " ", "", ":", "").Replace(c.want)[:10]
			if !strings.HasPrefix(routes[0].Tables[0], "payments_"+bucket+"_") {
				t.Errorf("row goes to %s, want a table of bucket %s", routes[0].Tables[0], bucket)
			}
		})
	}
}

// TestFixedZone: offsets as MariaDB accepts them.
func TestFixedZone(t *testing.T) {
	for name, want := range map[string]int{"+00:00": 0, "+05:30": 19800, "-08:00": -28800, "+13:00": 46800, "-12:59": -46740} {
		loc, ok := FixedZone(name)
		if !ok {
			t.Errorf("%s: not read", name)
			continue
		}
		if _, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); off != want {
			t.Errorf("%s: offset %d, want %d", name, off, want)
		}
	}
	for _, name := range []string{"", "SYSTEM", "+5:3", "05:30", "+14:00", "+05:60", "+ab:cd", "Europe/Berlin"} {
		if _, ok := FixedZone(name); ok {
			t.Errorf("%q read as an offset", name)
		}
	}
}

// TestTimeFunctionsOneStatementOneNow: every row of one INSERT gets the
// statement's NOW(), even when the clock moves on while it is planned
// (here into the next hour, which would split the rows between buckets).
func TestTimeFunctionsOneStatementOneNow(t *testing.T) {
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Date(2026, 11, 24, 18, 59, 59, 998000000, time.UTC)
	pl := New(r, fixedBuckets{}, func() time.Time {
		tick = tick.Add(time.Millisecond)
		return tick
	})
	stmts, err := parser.New().Parse("INSERT INTO payments (id, user_id, created_at) VALUES (1, 7, NOW(3)), (2, 7, NOW(3) + INTERVAL 0 SECOND)")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pl.Plan(stmts[0], Facts{DB: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	routes := plan.Routes()
	if len(routes) != 1 || strings.Count(routes[0].SQL, "'2026-11-24 18:59:59.999'") != 2 {
		t.Errorf("want both rows at one instant in one bucket, got:\n%s", plan)
	}
}
