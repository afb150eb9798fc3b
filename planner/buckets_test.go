package planner

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/shard"
)

// Issue 13 item 9: hourly buckets are bounded by a window, the zero date
// has one fixed bucket, and statements that may reach buckets another
// proxy instance created say so before planning.

// bucketNow is the clock of these tests: 2026-11-27 23:30.
var bucketNow = time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC)

// bucketPlanner plans over testdata/rules.plan.yaml (payments: hourly by
// created_at, split by user_id in 4; audit: hourly by at) with the default
// window, a year back and 48 hours ahead, and the buckets given as known.
func bucketPlanner(t *testing.T, known fixedBuckets) *Planner {
	t.Helper()
	r, err := rules.Load("../testdata/rules.plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return New(r, known, func() time.Time { return bucketNow })
}

func planSQL(t *testing.T, pl *Planner, sql string, f Facts) (*engine.Plan, error) {
	t.Helper()
	stmts, err := parser.New().Parse(sql)
	if err != nil {
		t.Fatal(err)
	}
	if f.DB == "" {
		f.DB = "shop"
	}
	return pl.Plan(stmts[0], f)
}

func ensured(p *engine.Plan) []string {
	var out []string
	if e, ok := p.Root.(*engine.EnsureBuckets); ok {
		for _, n := range e.Needs {
			out = append(out, n.Table.Name+"_"+n.Bucket)
		}
	}
	return out
}

func routedTables(p *engine.Plan) []string {
	var out []string
	for _, r := range p.Routes() {
		for _, tb := range r.Tables {
			out = append(out, r.Cluster+"."+tb)
		}
	}
	slices.Sort(out)
	return out
}

func errCode(err error) uint16 {
	var me *mysql.MyError
	if errors.As(err, &me) {
		return me.Code
	}
	return 0
}

// A write whose hour is outside the window is refused with the error a
// partitioned table gives, before any bucket is created: the plan that
// would create them is never made.
func TestInsertBucketWindow(t *testing.T) {
	manyHours := make([]string, 300)
	for i := range manyHours {
		at := time.Date(1000+i, 1, 1, i%24, 0, 0, 0, time.UTC)
		manyHours[i] = fmt.Sprintf("(%d, '%s')", i, at.Format("2006-01-02 15:04:05"))
	}
	for _, c := range []struct {
		name, sql string
		code      uint16
		msg       string   // error message prefix
		ensure    []string // buckets the plan creates when it is accepted
	}{
		{"300 hours from the year 1000", "INSERT INTO audit (id, at) VALUES " + strings.Join(manyHours, ", "),
			mysql.ER_NO_PARTITION_FOR_GIVEN_VALUE, "Table has no partition for value 1000010100 (shardgate: shop.audit accepts hours 2025112723 to 2026112923", nil},
		{"one row too late among good ones", "INSERT INTO audit (id, at) VALUES (1, '2026-11-27 10:00:00'), (2, '2026-11-30 00:00:00')",
			mysql.ER_NO_PARTITION_FOR_GIVEN_VALUE, "Table has no partition for value 2026113000 ", nil},
		{"one hour before the window", "INSERT INTO audit (id, at) VALUES (1, '2025-11-27 22:59:59')",
			mysql.ER_NO_PARTITION_FOR_GIVEN_VALUE, "Table has no partition for value 2025112722 ", nil},
		{"first hour of the window", "INSERT INTO audit (id, at) VALUES (1, '2025-11-27 23:00:00')", 0, "", []string{"audit_2025112723"}},
		{"last hour of the window", "INSERT INTO audit (id, at) VALUES (1, '2026-11-29 23:59:59')", 0, "", []string{"audit_2026112923"}},
		{"now", "INSERT INTO audit (id, at) VALUES (1, NOW())", 0, "", []string{"audit_2026112723"}},
		{"split table", "INSERT INTO payments (id, user_id, created_at) VALUES (1, 7, '2027-01-01 00:00:00')",
			mysql.ER_NO_PARTITION_FOR_GIVEN_VALUE, "Table has no partition for value 2027010100 ", nil},
		{"zero date is exempt", "INSERT INTO audit (id, at) VALUES (1, '0000-00-00 00:00:00')", 0, "", []string{"audit_0000000000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := planSQL(t, bucketPlanner(t, nil), c.sql, Facts{})
			if c.code != 0 {
				if errCode(err) != c.code || !strings.HasPrefix(err.(*mysql.MyError).Message, c.msg) {
					t.Fatalf("got %v, want %d %q…", err, c.code, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ensured(p); !slices.Equal(got, c.ensure) {
				t.Fatalf("creates %v, want %v", got, c.ensure)
			}
		})
	}
	// A narrower window from the rules.
	r, err := rules.Parse("rules.yaml", []byte(`users: [{name: app}]
backend: {user: app}
clusters: {s0: {primary: 127.0.0.1:3320}}
schemas:
  shop:
    cluster: s0
    tables:
      ev:
        shard: {by: hour, column: at, clusters: [s0]}
        buckets: {past: 2h, future: 0s}
`))
	if err != nil {
		t.Fatal(err)
	}
	pl := New(r, fixedBuckets{}, func() time.Time { return bucketNow })
	for sql, ok := range map[string]bool{
		"INSERT INTO ev (at) VALUES ('2026-11-27 21:00:00')": true,
		"INSERT INTO ev (at) VALUES ('2026-11-27 20:59:59')": false,
		"INSERT INTO ev (at) VALUES ('2026-11-27 23:59:59')": true,
		"INSERT INTO ev (at) VALUES ('2026-11-28 00:00:00')": false,
	} {
		if _, err := planSQL(t, pl, sql, Facts{}); (err == nil) != ok {
			t.Errorf("%s: %v, want accepted %v", sql, err, ok)
		}
	}
}

// The zero date goes to one fixed bucket when the session's sql_mode lets
// MariaDB store it, and is refused as MariaDB refuses it otherwise.
func TestZeroDateWrites(t *testing.T) {
	for _, c := range []struct {
		name, sql  string
		noZeroDate bool
		code       uint16
		msg        string
		tables     []string
	}{
		{"default sql_mode", "INSERT INTO audit (id, at) VALUES (1, '0000-00-00 00:00:00')", false, 0, "", []string{"s0.audit_0000000000"}},
		{"the number 0", "INSERT INTO audit (id, at) VALUES (1, 0)", false, 0, "", []string{"s0.audit_0000000000"}},
		{"split table", "INSERT INTO payments (id, user_id, created_at) VALUES (1, 7, '0000-00-00')", false, 0, "", []string{"s0.payments_0000000000_0"}},
		{"with other hours", "INSERT INTO audit (id, at) VALUES (1, '0000-00-00 00:00:00'), (2, '2026-11-27 11:00:00')", false, 0, "",
			[]string{"s0.audit_0000000000", "s1.audit_2026112711"}},
		{"strict NO_ZERO_DATE", "INSERT INTO audit (id, AT) VALUES (1, '2026-11-27 11:00:00'), (2, '0000-00-00 00:00:00')", true,
			mysql.ER_TRUNCATED_WRONG_VALUE, "Incorrect datetime value: '0000-00-00 00:00:00' for column `shop`.`audit`.`AT` at row 2", nil},
		{"strict NO_ZERO_DATE, REPLACE", "REPLACE INTO audit (id, at) VALUES (1, 0)", true,
			mysql.ER_TRUNCATED_WRONG_VALUE, "Incorrect datetime value: '0' for column `shop`.`audit`.`at` at row 1", nil},
		{"strict NO_ZERO_DATE, INSERT IGNORE stores it", "INSERT IGNORE INTO audit (id, at) VALUES (1, '0000-00-00')", true, 0, "", []string{"s0.audit_0000000000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := planSQL(t, bucketPlanner(t, nil), c.sql, Facts{NoZeroDate: c.noZeroDate})
			if c.code != 0 {
				if errCode(err) != c.code || err.(*mysql.MyError).Message != c.msg || err.(*mysql.MyError).State != "22007" {
					t.Fatalf("got %#v, want %d (22007) %q", err, c.code, c.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := routedTables(p); !slices.Equal(got, c.tables) {
				t.Fatalf("writes %v, want %v", got, c.tables)
			}
		})
	}
}

// Reads of the zero date reach its bucket; ranges reach it when the zero
// date is within them (it sorts before every date).
func TestZeroDateReads(t *testing.T) {
	pl := bucketPlanner(t, fixedBuckets{"shop.audit": {shard.ZeroBucket, "2026112709", "2026112710"}})
	for _, c := range []struct {
		where  string
		tables []string
	}{
		{"at = '0000-00-00 00:00:00'", []string{"s0.audit_0000000000"}},
		{"at = 0", []string{"s0.audit_0000000000"}},
		{"at IN ('0000-00-00', '2026-11-27 10:30:00')", []string{"s0.audit_0000000000", "s0.audit_2026112710"}},
		{"at < '2026-11-27 10:00:00'", []string{"s0.audit_0000000000", "s1.audit_2026112709"}},
		{"at <= '0000-00-00 00:00:00'", []string{"s0.audit_0000000000"}},
		{"at < '0000-00-00 00:00:00'", []string{"s0.audit_template"}}, // nothing can match
		{"at > '2000-01-01 00:00:00'", []string{"s0.audit_2026112710", "s1.audit_2026112709"}},
		{"at BETWEEN '0000-00-00' AND '2026-11-27 09:59:59'", []string{"s0.audit_0000000000", "s1.audit_2026112709"}},
	} {
		p, err := planSQL(t, pl, "SELECT * FROM audit WHERE "+c.where, Facts{})
		if err != nil {
			t.Fatalf("%s: %v", c.where, err)
		}
		if got := routedTables(p); !slices.Equal(got, c.tables) {
			t.Errorf("%s: reads %v, want %v", c.where, got, c.tables)
		}
	}
}

// BucketMisses says which statements must look on the backends first:
// those that may reach buckets not known here, within the window (or the
// zero date's). A point read of a known bucket has none, so it never
// queries information_schema.
func TestBucketMisses(t *testing.T) {
	pl := bucketPlanner(t, fixedBuckets{"shop.audit": {"2026112709", "2026112710"}, "shop.payments": {"2026112709"}})
	type miss struct {
		table   string
		buckets []string
		fresh   bool
	}
	for _, c := range []struct {
		sql  string
		want []miss
	}{
		{"SELECT * FROM audit WHERE at = '2026-11-27 09:15:00'", nil},
		{"SELECT * FROM audit WHERE at IN ('2026-11-27 09:15:00', '2026-11-27 10:00:00')", nil},
		{"SELECT * FROM audit WHERE at = '2026-11-27 11:15:00'", []miss{{"audit", []string{"2026112711"}, false}}},
		{"SELECT * FROM audit WHERE at IN ('2026-11-27 12:00:00', '2026-11-27 09:00:00', '2026-11-27 11:00:00', '2026-11-27 12:30:00')",
			[]miss{{"audit", []string{"2026112711", "2026112712"}, false}}},
		{"SELECT * FROM audit WHERE at = '0000-00-00 00:00:00'", []miss{{"audit", []string{shard.ZeroBucket}, false}}},
		// Outside the window no instance creates buckets: nothing to look for.
		{"SELECT * FROM audit WHERE at = '1999-01-01 00:00:00'", nil},
		{"SELECT * FROM audit WHERE at = '2030-01-01 00:00:00'", nil},
		{"SELECT * FROM audit WHERE at = '2026-11-27 11:15:00' AND at < '2026-11-27 11:00:00'", nil},
		// Ranges and no condition may reach any bucket.
		{"SELECT * FROM audit", []miss{{"audit", nil, false}}},
		{"SELECT COUNT(*) FROM audit WHERE id = 3", []miss{{"audit", nil, false}}},
		{"SELECT * FROM audit WHERE at >= '2026-11-27 00:00:00'", []miss{{"audit", nil, false}}},
		{"SELECT * FROM audit WHERE at < '2020-01-01 00:00:00'", []miss{{"audit", nil, false}}}, // the zero date's bucket
		{"SELECT * FROM audit WHERE at BETWEEN '2020-01-01' AND '2020-12-31'", nil},
		{"SELECT * FROM audit WHERE at > '2030-01-01 00:00:00'", nil},
		{"UPDATE audit SET x = 1 WHERE at = '2026-11-27 11:15:00'", []miss{{"audit", []string{"2026112711"}, false}}},
		{"DELETE FROM payments WHERE created_at >= '2026-11-27 00:00:00'", []miss{{"payments", nil, false}}},
		{"SELECT * FROM payments WHERE user_id = 7 AND created_at = '2026-11-27 09:30:00'", nil},
		// DDL must reach every bucket that exists: it always looks.
		{"ALTER TABLE payments ADD COLUMN note TEXT", []miss{{"payments", nil, true}}},
		{"DROP TABLE audit", []miss{{"audit", nil, true}}},
		{"TRUNCATE TABLE audit", []miss{{"audit", nil, true}}},
		// INSERT creates with IF NOT EXISTS; CREATE TABLE makes templates.
		{"INSERT INTO audit (id, at) VALUES (1, '2026-11-27 11:00:00')", nil},
		{"CREATE TABLE audit (id INT, at DATETIME)", nil},
		{"DESCRIBE audit", nil},
		{"SELECT * FROM comments", nil},
		{"SELECT * FROM orders", nil},
	} {
		stmts, err := parser.New().Parse(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		var got []miss
		for _, m := range pl.BucketMisses(stmts[0], Facts{DB: "shop"}) {
			got = append(got, miss{m.Table.Name, m.Buckets, m.Fresh})
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: misses %v, want %v", c.sql, got, c.want)
		}
	}
}
