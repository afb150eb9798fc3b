package integration

import (
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// infoSchemaEnv is the sharding rules (rules.plan.yaml) with two users: an
// admin and one limited to shop. ref is the lone server that holds the same
// logical tables in one database, as information_schema should look.
type infoSchemaEnv struct {
	e             *shardEnv
	admin, viewer *sql.DB
}

func newInfoSchemaEnv(t *testing.T) *infoSchemaEnv {
	t.Helper()
	rulesYAML, err := os.ReadFile("../testdata/rules.plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const users = "users: [{name: app, password: app}]"
	if !strings.Contains(string(rulesYAML), users) {
		t.Fatalf("rules.plan.yaml no longer declares %s", users)
	}
	text := strings.Replace(string(rulesYAML), users, "users: [{name: app, password: app, admin: true}, {name: viewer, password: viewer, schemas: [shop]}]", 1)
	p := startProxyRules(t, text+"precreate_hours: -1\n")
	e := &shardEnv{t: t, proxy: p.open(t, "shop"), ref: direct(t, refServer, "shop"), p: p}
	viewer, err := sql.Open("mysql", "viewer:viewer@tcp("+p.addr+")/shop")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { viewer.Close() })
	for _, q := range []string{"DROP TABLE IF EXISTS comments", "DROP TABLE IF EXISTS payments", "DROP TABLE IF EXISTS orders", "DROP TABLE IF EXISTS regions", "DROP TABLE IF EXISTS is_notes"} {
		e.both(q)
	}
	e.both("CREATE TABLE comments (id BIGINT PRIMARY KEY, product_id INT NOT NULL, body VARCHAR(100) DEFAULT 'none', created_at DATETIME, KEY by_product (product_id, created_at))")
	e.both("CREATE TABLE payments (id BIGINT, user_id INT NOT NULL, created_at DATETIME NOT NULL, amount DECIMAL(10,2) COMMENT 'in cents', PRIMARY KEY (id, created_at), UNIQUE KEY one_per_user (user_id, created_at))")
	e.both("CREATE TABLE orders (id INT PRIMARY KEY, region_id INT, total DECIMAL(12,2) NOT NULL, KEY (region_id))")
	e.both("CREATE TABLE regions (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)")
	e.both("CREATE TABLE is_notes (id INT PRIMARY KEY, body TEXT)")
	e.dropAtEnd("comments", "payments", "orders", "regions", "is_notes")
	var vals []string
	for i := 1; i <= 40; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, 'c%d', '2026-11-20 10:00:00')", i, i%7, i))
	}
	e.both("INSERT INTO comments (id, product_id, body, created_at) VALUES " + strings.Join(vals, ", "))
	e.both("INSERT INTO payments (id, user_id, created_at, amount) VALUES (1, 1, '2026-11-20 10:05:00', 1.00), (2, 2, '2026-11-20 11:05:00', 2.00), (3, 3, '2026-11-20 12:05:00', 3.00)")
	syncReplicas(t) // information_schema is read on the replicas
	return &infoSchemaEnv{e: e, admin: e.proxy, viewer: viewer}
}

// logicalTables are this test's tables: sharded by hash (comments), by
// hour then hash (payments), business split (orders on s1), global
// (regions) and unruled (is_notes on main).
const logicalTables = "('comments', 'payments', 'orders', 'regions', 'is_notes')"

// information_schema through the proxy answers as the one server holding
// the logical tables does: the same rows of COLUMNS, STATISTICS and
// TABLES (an ORM's join of TABLES and COLUMNS included), counts over every
// cluster, and the same SHOW COLUMNS / SHOW INDEX.
func TestInfoSchemaLikeOneServer(t *testing.T) {
	env := newInfoSchemaEnv(t)
	e := env.e
	for _, q := range []string{
		// COUNT(*) over COLUMNS of a table that lives only on s0 and s1.
		"SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'payments'",
		"SELECT TABLE_NAME, COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN " + logicalTables + " GROUP BY TABLE_NAME ORDER BY n DESC, TABLE_NAME",
		"SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, COLUMN_KEY, EXTRA, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN " + logicalTables + " ORDER BY TABLE_NAME, ORDINAL_POSITION",
		"SELECT TABLE_NAME, NON_UNIQUE, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NULLABLE, INDEX_TYPE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN " + logicalTables + " ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
		"SELECT TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN " + logicalTables + " ORDER BY TABLE_NAME",
		"SELECT CONSTRAINT_NAME, TABLE_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN " + logicalTables + " ORDER BY TABLE_NAME, CONSTRAINT_NAME",
		"SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN " + logicalTables + " ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
		// As an ORM introspects: TABLES joined with COLUMNS.
		"SELECT t.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.DATA_TYPE, c.IS_NULLABLE FROM information_schema.TABLES t JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME IN " + logicalTables + " ORDER BY t.TABLE_NAME, c.ORDINAL_POSITION",
		"SELECT kc.CONSTRAINT_NAME, kc.COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE AS kc, information_schema.TABLE_CONSTRAINTS AS c WHERE kc.TABLE_SCHEMA = DATABASE() AND c.TABLE_SCHEMA = kc.TABLE_SCHEMA AND c.CONSTRAINT_NAME = kc.CONSTRAINT_NAME AND c.CONSTRAINT_TYPE = 'UNIQUE' AND c.TABLE_NAME = kc.TABLE_NAME AND kc.TABLE_NAME = 'payments'",
		"SHOW COLUMNS FROM comments", "SHOW FULL COLUMNS FROM payments", "DESCRIBE orders",
	} {
		proxy, ref := query(e.proxy, q), query(e.ref, q)
		if proxy.err != nil || ref.err != nil {
			t.Fatalf("%s:\nproxy: %v\nref: %v", q, proxy.err, ref.err)
		}
		if !ordered(q) && !strings.HasPrefix(q, "SHOW") && !strings.HasPrefix(q, "DESCRIBE") {
			sort.Strings(proxy.rows)
			sort.Strings(ref.rows)
		}
		if strings.Join(proxy.cols, ",") != strings.Join(ref.cols, ",") || strings.Join(proxy.rows, "\n") != strings.Join(ref.rows, "\n") {
			t.Errorf("%s:\nproxy %v\n%s\nref %v\n%s", q, proxy.cols, strings.Join(proxy.rows, "\n"), ref.cols, strings.Join(ref.rows, "\n"))
		}
		if strings.HasPrefix(q, "SELECT COUNT(*)") && (len(proxy.rows) != 1 || proxy.rows[0] == "0") {
			t.Errorf("%s: %v", q, proxy.rows)
		}
	}

	// Without TABLE_SCHEMA (ref's account may see other databases, so the
	// proxy is compared with itself): still every cluster's columns.
	var all, inShop int
	scan(t, e.proxy, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_NAME = 'payments'", &all)
	scan(t, e.proxy, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'payments'", &inShop)
	if all != 4 || inShop != 4 {
		t.Errorf("COUNT(*) of payments' columns: %d, in shop %d; want 4", all, inShop)
	}

	// A sharded table's columns are its template's, read directly.
	cols := func(db *sql.DB, table string) []string {
		return rowsOf(t, db, "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COALESCE(COLUMN_DEFAULT, 'NULL'), COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = '"+table+"' ORDER BY ORDINAL_POSITION", true)
	}
	for logical, physical := range map[string]struct{ cluster, table string }{"comments": {"s0", "comments_0"}, "payments": {"s0", "payments_template"}} {
		got, want := cols(e.proxy, logical), cols(direct(t, shardCluster[physical.cluster], "shop"), physical.table)
		if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("COLUMNS of %s:\n%s\nwant (%s.%s):\n%s", logical, strings.Join(got, "\n"), physical.cluster, physical.table, strings.Join(want, "\n"))
		}
	}

	// TABLE_ROWS and DATA_LENGTH of a sharded table add up its physical
	// tables, as the replicas the proxy reads count them; SHOW TABLE
	// STATUS says the same.
	replica := map[string]*sql.DB{"s0": direct(t, "127.0.0.1:3321", "shop"), "s1": direct(t, "127.0.0.1:3331", "shop")}
	eventually(t, 20*time.Second, "TABLE_ROWS of comments summed over its physical tables", func() bool {
		var sumRows, sumData int64
		for _, db := range replica {
			var r, d int64
			scan(t, db, "SELECT COALESCE(SUM(TABLE_ROWS), 0), COALESCE(SUM(DATA_LENGTH), 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME REGEXP '^comments_[0-9]+$'", &r, &d)
			sumRows, sumData = sumRows+r, sumData+d
		}
		var rows, data int64
		scan(t, e.proxy, "SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'comments'", &rows, &data)
		st := query(e.proxy, "SHOW TABLE STATUS LIKE 'comments'")
		if st.err != nil || len(st.rows) != 1 || len(st.cols) < 7 || st.cols[4] != "Rows" || st.cols[6] != "Data_length" {
			t.Fatalf("SHOW TABLE STATUS LIKE 'comments': %v %v %v", st.err, st.cols, st.rows)
		}
		fields := strings.Split(st.rows[0], ",")
		if fields[0] != "'comments'" {
			t.Fatalf("SHOW TABLE STATUS: %v", st.rows)
		}
		return rows == sumRows && data == sumData && data > 0 && fields[4] == fmt.Sprintf("'%d'", rows) && fields[6] == fmt.Sprintf("'%d'", data)
	})

	// SHOW INDEX names the logical table and lists the template's keys
	// (its Cardinality counts one physical table: not compared).
	keys := func(db *sql.DB) []string {
		r := query(db, "SHOW INDEX FROM comments")
		if r.err != nil {
			t.Fatalf("SHOW INDEX: %v", r.err)
		}
		var out []string
		for _, row := range r.rows {
			f := strings.Split(row, ",")
			out = append(out, strings.Join(f[:5], ","))
		}
		return out
	}
	if got, want := keys(e.proxy), keys(e.ref); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("SHOW INDEX FROM comments:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// SCHEMATA names shop once; the tables of each kind appear once.
	if got := rowsOf(t, e.proxy, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop'", false); len(got) != 1 {
		t.Errorf("SCHEMATA: %v", got)
	}
	if got := rowsOf(t, e.proxy, "SELECT TABLE_NAME, COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' GROUP BY TABLE_NAME HAVING COUNT(*) > 1", false); len(got) != 0 {
		t.Errorf("tables listed more than once: %v", got)
	}
	if got := rowsOf(t, e.proxy, "SHOW FULL TABLES WHERE Table_type = 'BASE TABLE' AND Tables_in_shop IN "+logicalTables, true); strings.Join(got, ",") != "comments|BASE TABLE,is_notes|BASE TABLE,orders|BASE TABLE,payments|BASE TABLE,regions|BASE TABLE" {
		t.Errorf("SHOW FULL TABLES WHERE: %v", got)
	}
}

// reservedName matches the names of physical tables of rules.plan.yaml's
// sharded tables.
var reservedName = regexp.MustCompile(`^(comments|comment_likes|reviews|payments|audit|logs|items|wide|big)_([0-9]+|[0-9]{10}_[0-9]+|template)$`)

// No physical table name appears anywhere in information_schema through
// the proxy, for an admin and for a user limited to shop, and none can be
// named in a statement: one server holding the logical tables has no such
// table (1146). information_schema tables about other sessions or the
// backend account are refused (1142); server-wide ones pass.
func TestInfoSchemaNoPhysicalNames(t *testing.T) {
	env := newInfoSchemaEnv(t)
	for who, db := range map[string]*sql.DB{"admin": env.admin, "viewer": env.viewer} {
		for _, q := range []string{
			"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop'",
			"SELECT TABLE_NAME FROM information_schema.TABLES",
			"SELECT DISTINCT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'shop'",
			"SELECT DISTINCT TABLE_NAME FROM information_schema.STATISTICS",
			"SELECT TABLE_NAME FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = 'shop'",
			"SELECT CONCAT(TABLE_NAME, ':', CONSTRAINT_NAME) FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'shop'",
			"SELECT TABLE_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = 'shop'",
			"SHOW TABLES", "SHOW FULL TABLES WHERE Table_type <> 'VIEW'",
		} {
			names := rowsOf(t, db, q, false)
			if len(names) == 0 {
				t.Errorf("%s %s: no rows", who, q)
			}
			for _, n := range names {
				// Every field: table names, SHOW FULL TABLES' type, and
				// constraint names (after ":").
				for _, name := range strings.FieldsFunc(n, func(r rune) bool { return r == '|' || r == ':' }) {
					if reservedName.MatchString(strings.ToLower(name)) {
						t.Errorf("%s %s: physical table %s", who, q, n)
					}
				}
			}
		}
		var tables int
		scan(t, db, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME IN "+logicalTables, &tables)
		if tables != 5 {
			t.Errorf("%s: %d of the 5 logical tables in TABLES", who, tables)
		}
		for _, q := range []string{"SELECT * FROM comments_0", "SELECT * FROM shop.comments_3", "SHOW COLUMNS FROM comments_1", "SELECT * FROM payments_template", "SELECT COUNT(*) FROM comments JOIN comments_2 USING (id)"} {
			_, err := db.Exec(q)
			if err == nil {
				t.Fatalf("%s %s: accepted", who, q)
			}
			if code, _, msg := mysqlErr(t, err); code != 1146 || !strings.Contains(msg, "doesn't exist") {
				t.Errorf("%s %s: %d %s, want 1146", who, q, code, msg)
			}
		}
		for _, q := range []string{"SELECT * FROM information_schema.INNODB_TRX", "SELECT * FROM information_schema.USER_PRIVILEGES", "SELECT * FROM information_schema.TABLES t JOIN information_schema.TABLE_PRIVILEGES p USING (TABLE_NAME)"} {
			_, err := db.Exec(q)
			if err == nil {
				t.Fatalf("%s %s: accepted", who, q)
			}
			if code, _, msg := mysqlErr(t, err); code != 1142 || !strings.Contains(msg, "SELECT command denied") {
				t.Errorf("%s %s: %d %s, want 1142", who, q, code, msg)
			}
		}
		var engines int
		scan(t, db, "SELECT COUNT(*) FROM information_schema.ENGINES WHERE ENGINE = 'InnoDB'", &engines)
		if engines != 1 {
			t.Errorf("%s: ENGINES has %d InnoDB rows", who, engines)
		}
	}
	// The viewer sees no other database described.
	if got := rowsOf(t, env.viewer, "SELECT DISTINCT TABLE_SCHEMA FROM information_schema.TABLES", false); strings.Join(got, ",") != "information_schema,shop" {
		t.Errorf("viewer's TABLES names schemas %v", got)
	}
}
