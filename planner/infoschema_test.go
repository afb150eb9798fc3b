package planner

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// Each row a cluster gives about a table is kept by exactly the cluster
// that holds the table as the rules place it, under its logical name:
// rules.plan.yaml has shop on main, comments hashed 8 ways over s0 and s1
// (even indexes on s0), payments by hour then 4 ways (hour 2026112410 on
// s0, 2026112409 on s1), audit by hour alone, orders on s1, regions global.
func TestInfoSchemaPlaceRow(t *testing.T) {
	pl := newGoldenPlanner(t)
	cases := []struct {
		schema, table, cluster string
		logical                string
		role                   rowRole
	}{
		{"shop", "comments_0", "s0", "comments", rowDescribe},
		{"shop", "comments_2", "s0", "comments", rowAdd},
		{"shop", "comments_1", "s1", "comments", rowAdd},
		{"shop", "COMMENTS_1", "s1", "comments", rowAdd},
		{"shop", "comments_1", "s0", "", rowDrop},        // not where the rules put it
		{"shop", "comments_3", "main", "", rowDrop},      // a stray copy on the default cluster
		{"shop", "comments_0", "main", "", rowDrop},      // likewise the one that describes
		{"shop", "comments_template", "s0", "", rowDrop}, // hash rules have no template
		{"shop", "comments_8", "s0", "", rowDrop},        // beyond the table count
		{"shop", "comments_02", "s0", "", rowDrop},       // not how an index is written
		{"shop", "comments", "main", "", rowDrop},        // only physical tables describe it
		{"shop", "comments_archive", "main", "comments_archive", rowDescribe},
		{"shop", "comments_archive", "s0", "", rowDrop},
		{"shop", "payments_template", "s0", "payments", rowDescribe},
		{"shop", "payments_template", "s1", "", rowDrop}, // the first cluster's template describes
		{"shop", "payments_2026112410_3", "s0", "payments", rowAdd},
		{"shop", "payments_2026112409_0", "s1", "payments", rowAdd},
		{"shop", "payments_2026112410_3", "s1", "", rowDrop},
		{"shop", "payments_2026112410_4", "s0", "", rowDrop}, // beyond the second level's count
		{"shop", "payments_2026112410", "s0", "", rowDrop},   // payments has a second level
		{"shop", "audit_2026112409", "s1", "audit", rowAdd},
		{"shop", "audit_2026112409_0", "s1", "", rowDrop}, // audit has none
		{"shop", "orders", "s1", "orders", rowDescribe},
		{"shop", "orders", "main", "", rowDrop},
		{"shop", "regions", "main", "regions", rowDescribe},
		{"shop", "regions", "s0", "", rowDrop}, // one copy of a global table
		{"shop", "notes", "main", "notes", rowDescribe},
		{"shop", "notes", "s1", "", rowDrop},
		{"shop", "", "main", "", rowDescribe}, // SCHEMATA, ROUTINES: the default cluster
		{"shop", "", "s0", "", rowDrop},
		{"information_schema", "TABLES", "main", "TABLES", rowDescribe},
		{"information_schema", "TABLES", "s1", "", rowDrop},
	}
	for _, c := range cases {
		logical, role := pl.placeRow(c.schema, c.table, c.cluster)
		if role != c.role || role != rowDrop && logical != c.logical {
			t.Errorf("placeRow(%s, %s, %s) = %q, %d; want %q, %d", c.schema, c.table, c.cluster, logical, role, c.logical, c.role)
		}
	}
}

func TestIsReservedName(t *testing.T) {
	pl := newGoldenPlanner(t)
	for name, want := range map[string]bool{
		"comments_0": true, "comments_7": true, "comments_8": true, "comments_template": true,
		"Comments_3": true, "payments_2026112410_1": true, "payments_template": true, "audit_2026112409": true,
		"comments": false, "comments_archive": false, "comments_x1": false, "items_0a": false, "regions_0": false,
		"orders_1": false, "payments_2026": true, // any digits are reserved: a name a client could confuse with one
	} {
		if got := pl.IsReservedName("shop", name); got != want {
			t.Errorf("IsReservedName(shop, %s) = %v, want %v", name, got, want)
		}
	}
}

func isCol(name string, typ byte, flags uint16) wire.Column {
	charset := uint16(33)
	if typ != mysql.MYSQL_TYPE_VAR_STRING {
		charset = 63
	}
	return wire.Column{Name: name, OrgName: name, Table: "TABLES", Type: typ, Charset: charset, Flags: flags}
}

func ptrs(vals ...string) []*string {
	out := make([]*string, len(vals))
	for i, v := range vals {
		if v != "NULL" {
			v := v
			out[i] = &v
		}
	}
	return out
}

func show(rows [][]*string) []string {
	var out []string
	for _, r := range rows {
		var f []string
		for _, v := range r {
			if v == nil {
				f = append(f, "NULL")
			} else {
				f = append(f, *v)
			}
		}
		out = append(out, strings.Join(f, "|"))
	}
	sort.Strings(out)
	return out
}

// TABLES rows from the three clusters become one row per logical table:
// physical tables renamed and dropped, a sharded table's sizes added up
// over all its physical tables (its average row length recomputed, its
// highest AUTO_INCREMENT and latest UPDATE_TIME kept), stray and wrongly
// placed copies ignored.
func TestInfoSchemaPlaceRowsTables(t *testing.T) {
	pl := newGoldenPlanner(t)
	unsigned := uint16(mysql.UNSIGNED_FLAG)
	cols := []wire.Column{
		isCol("TABLE_SCHEMA", mysql.MYSQL_TYPE_VAR_STRING, 0), isCol("TABLE_NAME", mysql.MYSQL_TYPE_VAR_STRING, 0),
		isCol("TABLE_ROWS", mysql.MYSQL_TYPE_LONGLONG, unsigned), isCol("AVG_ROW_LENGTH", mysql.MYSQL_TYPE_LONGLONG, unsigned),
		isCol("DATA_LENGTH", mysql.MYSQL_TYPE_LONGLONG, unsigned), isCol("AUTO_INCREMENT", mysql.MYSQL_TYPE_LONGLONG, unsigned),
		isCol("UPDATE_TIME", mysql.MYSQL_TYPE_DATETIME, 0),
	}
	// s1 sends its columns in another order: they are read by name.
	s1cols := []wire.Column{cols[1], cols[0], cols[2], cols[3], cols[4], cols[5], cols[6]}
	answers := []Answer{
		{Gather: Gather{Cluster: "main", Table: "TABLES"}, Columns: cols, Rows: [][]*string{
			ptrs("shop", "notes", "3", "100", "300", "4", "NULL"),
			ptrs("shop", "regions", "2", "50", "100", "NULL", "NULL"),
			ptrs("shop", "comments_3", "999", "1", "999", "NULL", "NULL"), // stray
			ptrs("information_schema", "TABLES", "NULL", "0", "0", "NULL", "NULL"),
		}},
		{Gather: Gather{Cluster: "s0", Table: "TABLES"}, Columns: cols, Rows: [][]*string{
			ptrs("shop", "regions", "2", "50", "100", "NULL", "NULL"),
			ptrs("shop", "comments_0", "10", "100", "1000", "11", "2026-11-24 10:00:00"),
			ptrs("shop", "comments_2", "30", "100", "3000", "31", "2026-11-24 12:00:00"),
			ptrs("shop", "payments_template", "0", "0", "16384", "NULL", "NULL"),
			ptrs("shop", "payments_2026112410_0", "4", "10", "40", "NULL", "NULL"),
		}},
		{Gather: Gather{Cluster: "s1", Table: "TABLES"}, Columns: s1cols, Rows: [][]*string{
			ptrs("comments_1", "shop", "20", "100", "2000", "21", "2026-11-24 11:00:00"),
			ptrs("orders", "shop", "5", "20", "100", "6", "NULL"),
			ptrs("payments_template", "shop", "0", "0", "16384", "NULL", "NULL"),
			ptrs("payments_2026112409_3", "shop", "6", "10", "60", "NULL", "NULL"),
			ptrs("payments_2026112410_0", "shop", "100", "1", "100", "NULL", "NULL"), // hour 10 lives on s0
		}},
	}
	got, rows, err := pl.placeRows("TABLES", answers)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cols) || got[0].Name != "TABLE_SCHEMA" {
		t.Fatalf("columns %v", got)
	}
	want := []string{
		"information_schema|TABLES|NULL|0|0|NULL|NULL",
		"shop|comments|60|100|6000|31|2026-11-24 12:00:00",
		"shop|notes|3|100|300|4|NULL",
		"shop|orders|5|20|100|6|NULL",
		"shop|payments|10|1648|16484|NULL|NULL",
		"shop|regions|2|50|100|NULL|NULL",
	}
	if g := show(rows); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

// Names a row derives from its table (constraint names) and names of
// other tables it refers to (REFERENCED_TABLE_NAME) are logical too.
func TestInfoSchemaPlaceRowsRenamesReferences(t *testing.T) {
	pl := newGoldenPlanner(t)
	var cols []wire.Column
	for _, n := range []string{"CONSTRAINT_NAME", "TABLE_SCHEMA", "TABLE_NAME", "COLUMN_NAME", "REFERENCED_TABLE_SCHEMA", "REFERENCED_TABLE_NAME"} {
		cols = append(cols, isCol(n, mysql.MYSQL_TYPE_VAR_STRING, 0))
	}
	answers := []Answer{{Gather: Gather{Cluster: "s0", Table: "KEY_COLUMN_USAGE"}, Columns: cols, Rows: [][]*string{
		ptrs("comments_0_ibfk_1", "shop", "comments_0", "region_id", "shop", "regions"),
		ptrs("fk_likes", "shop", "comments_0", "id", "shop", "comment_likes_0"),
		ptrs("PRIMARY", "shop", "comments_0", "id", "NULL", "NULL"),
		ptrs("comments_2_ibfk_1", "shop", "comments_2", "region_id", "shop", "regions"), // another physical table
	}}}
	_, rows, err := pl.placeRows("KEY_COLUMN_USAGE", answers)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"PRIMARY|shop|comments|id|NULL|NULL",
		"comments_ibfk_1|shop|comments|region_id|shop|regions",
		"fk_likes|shop|comments|id|shop|comment_likes",
	}
	if g := show(rows); strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
}

func parseOne(t *testing.T, sql string) *parser.Statement {
	t.Helper()
	stmts, err := parser.New().Parse(sql)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("%s: %v", sql, err)
	}
	return stmts[0]
}

// What is read from each cluster: only visible schemas, the clusters that
// hold them, physical tables only where they describe (or, for TABLES,
// add up), and the statement's own TABLE_SCHEMA / TABLE_NAME conditions.
func TestInfoSchemaGathers(t *testing.T) {
	pl := newGoldenPlanner(t)
	visible := []string{"information_schema", "shop"}
	cases := []struct {
		sql, db string
		want    []string // cluster TABLE: conditions after WHERE
	}{
		// payments lives on s0 and s1 only: its template on s0 describes it
		// (information_schema has no table of that name either).
		{"SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_NAME = 'payments'", "shop", []string{
			"main COLUMNS: `TABLE_SCHEMA` IN ('information_schema', 'shop') AND `TABLE_NAME` IN ('payments')",
			"s0 COLUMNS: `TABLE_SCHEMA` IN ('shop') AND `TABLE_NAME` IN ('payments_template')",
		}},
		// TABLES adds up every physical table of a sharded table.
		{"SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'COMMENTS'", "shop", []string{
			"s0 TABLES: `TABLE_SCHEMA` IN ('shop') AND (`TABLE_NAME` IN ('comments_0') OR `TABLE_NAME` REGEXP '^(comments)_([0-9]+|[0-9]{10}_[0-9]+|template)$')",
			"s1 TABLES: `TABLE_SCHEMA` IN ('shop') AND `TABLE_NAME` REGEXP '^(comments)_([0-9]+|[0-9]{10}_[0-9]+|template)$'",
		}},
		// An ORM's join: each reference limited by its alias's conditions.
		{"SELECT c.COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE c JOIN information_schema.TABLE_CONSTRAINTS k ON k.CONSTRAINT_NAME = c.CONSTRAINT_NAME WHERE c.TABLE_SCHEMA = 'shop' AND k.TABLE_SCHEMA = 'shop' AND c.TABLE_NAME IN ('orders', 'notes')", "", []string{
			"main KEY_COLUMN_USAGE: `TABLE_SCHEMA` IN ('shop') AND `TABLE_NAME` IN ('notes')",
			"s1 KEY_COLUMN_USAGE: `TABLE_SCHEMA` IN ('shop') AND `TABLE_NAME` IN ('orders')",
			"main TABLE_CONSTRAINTS: `TABLE_SCHEMA` IN ('shop') AND `TABLE_NAME` NOT REGEXP '^(audit|big|comment_likes|comments|items|logs|payments|reviews|seq_events|seq_notes|wide)_",
			"s0 TABLE_CONSTRAINTS: `TABLE_SCHEMA` IN ('shop') AND (`TABLE_NAME` NOT REGEXP ",
			"s1 TABLE_CONSTRAINTS: `TABLE_SCHEMA` IN ('shop') AND (`TABLE_NAME` NOT REGEXP ",
		}},
		// A second reference without conditions reads the table whole.
		{"SELECT * FROM information_schema.TABLES a WHERE a.TABLE_NAME = 'x' AND EXISTS (SELECT 1 FROM information_schema.TABLES b WHERE b.TABLE_ROWS > a.TABLE_ROWS)", "shop", []string{
			"main TABLES: `TABLE_SCHEMA` IN ('information_schema', 'shop')",
			"s0 TABLES: `TABLE_SCHEMA` IN ('shop')",
			"s1 TABLES: `TABLE_SCHEMA` IN ('shop')",
		}},
		// Schemas the user may not see are not read at all.
		{"SELECT * FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'mysql'", "shop", nil},
		{"SELECT * FROM information_schema.COLUMNS WHERE TABLE_NAME = 'a' AND TABLE_NAME = 'b'", "shop", nil},
		// USE information_schema: unqualified names are its tables.
		{"SELECT ROUTINE_NAME FROM ROUTINES WHERE ROUTINE_SCHEMA = 'shop'", "information_schema", []string{
			"main ROUTINES: `ROUTINE_SCHEMA` IN ('shop')",
		}},
	}
	for _, c := range cases {
		st := parseOne(t, c.sql)
		q := pl.InfoSchema(st, st.Node, c.db, visible)
		if q == nil {
			t.Fatalf("%s: not an information_schema query", c.sql)
		}
		var got []string
		for _, g := range q.Gathers {
			prefix := "SELECT * FROM information_schema.`" + g.Table + "` WHERE "
			if !strings.HasPrefix(g.SQL, prefix) {
				t.Fatalf("%s: gather %s", c.sql, g.SQL)
			}
			got = append(got, g.Cluster+" "+g.Table+": "+strings.TrimPrefix(g.SQL, prefix))
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: gathers\n%s\nwant\n%s", c.sql, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], c.want[i]) {
				t.Errorf("%s: gather %d\n%s\nwant\n%s", c.sql, i, got[i], c.want[i])
			}
		}
	}
	if st := parseOne(t, "SELECT * FROM information_schema.ENGINES"); pl.InfoSchema(st, st.Node, "shop", visible) != nil {
		t.Error("ENGINES is gathered")
	}
}

// The statement the final server runs: the gathered rows as a typed
// common table expression named like the table, the client's statement
// reading it (its result column names as the client wrote them), and no
// physical name anywhere.
func TestInfoSchemaSQL(t *testing.T) {
	pl := newGoldenPlanner(t)
	st := parseOne(t, "SELECT COUNT(*), MAX(t.TABLE_ROWS) FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = 'shop' AND t.TABLE_NAME = 'comments'")
	q := pl.InfoSchema(st, st.Node, "shop", []string{"shop"})
	unsigned := uint16(mysql.UNSIGNED_FLAG)
	cols := []wire.Column{isCol("TABLE_SCHEMA", mysql.MYSQL_TYPE_VAR_STRING, 0), isCol("TABLE_NAME", mysql.MYSQL_TYPE_VAR_STRING, 0),
		isCol("TABLE_ROWS", mysql.MYSQL_TYPE_LONGLONG, unsigned), isCol("CREATE_TIME", mysql.MYSQL_TYPE_DATETIME, 0)}
	answers := []Answer{
		{Gather: Gather{Cluster: "s0", Table: "TABLES"}, Columns: cols, Rows: [][]*string{ptrs("shop", "comments_0", "7", "2026-11-24 10:00:00")}},
		{Gather: Gather{Cluster: "s1", Table: "TABLES"}, Columns: cols, Rows: [][]*string{ptrs("shop", "comments_1", "5", "NULL")}},
	}
	sql, err := pl.InfoSchemaSQL(q, answers, parseOne(t, st.SQL).Node, "shop", nil, parser.TextMode{})
	if err != nil {
		t.Fatal(err)
	}
	want := "WITH `TABLES` AS ((SELECT `TABLE_SCHEMA`, `TABLE_NAME`, `TABLE_ROWS`, `CREATE_TIME` FROM information_schema.`TABLES` LIMIT 0)" +
		" UNION ALL VALUES (_utf8mb3 X'73686f70', _utf8mb3 X'636f6d6d656e7473', CAST(12 AS UNSIGNED), TIMESTAMP'2026-11-24 10:00:00'))" +
		" SELECT COUNT(1) AS `COUNT(*)`,MAX(`t`.`TABLE_ROWS`) AS `MAX(t.TABLE_ROWS)` FROM `TABLES` AS `t` WHERE `t`.`TABLE_SCHEMA`='shop' AND `t`.`TABLE_NAME`='comments'"
	if sql != want {
		t.Fatalf("SQL\n%s\nwant\n%s", sql, want)
	}

	// More rows than one answer may hold: refused, not truncated.
	var many [][]*string
	for i := 0; i <= maxInfoSchemaRows; i++ {
		many = append(many, ptrs("shop", fmt.Sprintf("t%d", i), "1", "NULL"))
	}
	big := []Answer{{Gather: Gather{Cluster: "main", Table: "TABLES"}, Columns: cols, Rows: many}}
	_, err = pl.InfoSchemaSQL(q, big, parseOne(t, st.SQL).Node, "shop", nil, parser.TextMode{})
	var me *mysql.MyError
	if !errors.As(err, &me) || me.Code != mysql.ER_NOT_SUPPORTED_YET || !strings.Contains(me.Message, "narrow it") {
		t.Fatalf("%d rows: %v, want 1235", len(many), err)
	}
}

func TestInfoSchemaAccess(t *testing.T) {
	for name, want := range map[string]ISAccess{
		"TABLES": ISGathered, "columns": ISGathered, "Key_Column_Usage": ISGathered, "SCHEMATA": ISGathered,
		"PROCESSLIST": ISProxy, "ENGINES": ISServerWide, "collations": ISServerWide,
		"INNODB_TRX": ISRefused, "USER_PRIVILEGES": ISRefused, "PROFILING": ISRefused, "SOMETHING_NEW": ISRefused,
	} {
		if got := InfoSchemaAccess(name); got != want {
			t.Errorf("InfoSchemaAccess(%s) = %d, want %d", name, got, want)
		}
	}
}
