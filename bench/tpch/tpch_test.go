package tpch

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func byName(tables []*Table) map[string]*Table {
	m := map[string]*Table{}
	for _, t := range tables {
		m[t.Name] = t
	}
	return m
}

// col returns the value of column name in row, unquoted.
func col(t *Table, row []string, name string) string {
	for i, c := range t.Columns {
		if c == name {
			return strings.Trim(row[i], "'")
		}
	}
	panic("no column " + name)
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The same seed gives the same statements; another seed other rows.
func TestDeterministic(t *testing.T) {
	a, b, c := Generate(Config{Scale: 0.001, Seed: 1}), Generate(Config{Scale: 0.001, Seed: 1}), Generate(Config{Scale: 0.001, Seed: 2})
	for i := range a {
		sa, sb, sc := strings.Join(a[i].Inserts(100), "\n"), strings.Join(b[i].Inserts(100), "\n"), strings.Join(c[i].Inserts(100), "\n")
		if sa != sb {
			t.Errorf("%s: two runs with seed 1 differ", a[i].Name)
		}
		if a[i].Name != "region" && a[i].Name != "nation" && sa == sc {
			// region and nation have fixed keys and names but random
			// comments; the others must differ as a whole.
			t.Errorf("%s: seeds 1 and 2 give the same rows", a[i].Name)
		}
	}
}

// Cardinalities and key ranges of clause 4.2.3 at SF 0.01.
func TestSizesAndKeys(t *testing.T) {
	for _, scale := range []float64{0.001, 0.002, 0.005} {
		ps := byName(Generate(Config{Scale: scale, Seed: 3}))["partsupp"]
		seen := map[string]bool{}
		for _, row := range ps.Rows {
			if k := row[0] + "/" + row[1]; seen[k] {
				t.Fatalf("scale %g: partsupp key %s twice", scale, k)
			} else {
				seen[k] = true
			}
		}
	}
	m := byName(Generate(Config{Scale: 0.01, Seed: 42}))
	want := map[string]int{"region": 5, "nation": 25, "part": 2000, "supplier": 100, "partsupp": 8000, "customer": 1500, "orders": 15000}
	for name, n := range want {
		if got := len(m[name].Rows); got != n {
			t.Errorf("%s: %d rows, want %d", name, got, n)
		}
	}
	// About 4 lines per order (1..7 uniform).
	if n := len(m["lineitem"].Rows); n < 55000 || n > 65000 {
		t.Errorf("lineitem: %d rows, want about 60,000", n)
	}
	orders := m["orders"]
	for i, row := range orders.Rows {
		key := int(num(t, col(orders, row, "o_orderkey")))
		// Sparse: only the first 8 keys of every 32.
		if (key-1)%32 >= 8 || key != OrderKey(i+1) {
			t.Fatalf("order %d has key %d", i+1, key)
		}
		if cust := int(num(t, col(orders, row, "o_custkey"))); cust%3 == 0 || cust < 1 || cust > 1500 {
			t.Fatalf("order %d: customer %d", key, cust)
		}
	}
	last := int(num(t, col(orders, orders.Rows[len(orders.Rows)-1], "o_orderkey")))
	if last != 59976 { // order 15000: 1874 full groups of 32, then the 8th
		t.Errorf("last order key %d, want 59976", last)
	}
	ps := m["partsupp"]
	seen := map[string]bool{}
	for _, row := range ps.Rows {
		k := col(ps, row, "ps_partkey") + "/" + col(ps, row, "ps_suppkey")
		if seen[k] {
			t.Fatalf("partsupp key %s twice", k)
		}
		seen[k] = true
	}
	li := m["lineitem"]
	for _, row := range li.Rows {
		if !seen[col(li, row, "l_partkey")+"/"+col(li, row, "l_suppkey")] {
			t.Fatalf("lineitem %v: part and supplier are not a partsupp row", row[:4])
		}
	}
}

// The value rules of the lineitem and orders columns the queries read.
func TestValueRules(t *testing.T) {
	m := byName(Generate(Config{Scale: 0.01, Seed: 42}))
	li, orders, part := m["lineitem"], m["orders"], m["part"]
	price := map[string]float64{}
	for _, row := range part.Rows {
		price[col(part, row, "p_partkey")] = num(t, col(part, row, "p_retailprice"))
	}
	type order struct {
		date   time.Time
		status string
		total  float64
	}
	byKey := map[string]*order{}
	for _, row := range orders.Rows {
		d := day(t, col(orders, row, "o_orderdate"))
		if d.Before(startDate) || d.After(endDate.AddDate(0, 0, -151)) {
			t.Fatalf("order date %s out of range", d)
		}
		byKey[col(orders, row, "o_orderkey")] = &order{date: d, status: col(orders, row, "o_orderstatus")}
	}
	statuses := map[string]string{}
	flags := map[string]int{}
	for _, row := range li.Rows {
		o := byKey[col(li, row, "l_orderkey")]
		ship, commit, receipt := day(t, col(li, row, "l_shipdate")), day(t, col(li, row, "l_commitdate")), day(t, col(li, row, "l_receiptdate"))
		if d := ship.Sub(o.date).Hours() / 24; d < 1 || d > 121 {
			t.Fatalf("shipdate %d days after the order", int(d))
		}
		if d := commit.Sub(o.date).Hours() / 24; d < 30 || d > 90 {
			t.Fatalf("commitdate %d days after the order", int(d))
		}
		if d := receipt.Sub(ship).Hours() / 24; d < 1 || d > 30 {
			t.Fatalf("receiptdate %d days after shipping", int(d))
		}
		flag, status := col(li, row, "l_returnflag"), col(li, row, "l_linestatus")
		flags[flag]++
		if receipt.After(currentDate) != (flag == "N") {
			t.Fatalf("receipt %s with return flag %s", receipt, flag)
		}
		if ship.After(currentDate) != (status == "O") {
			t.Fatalf("ship %s with line status %s", ship, status)
		}
		k := col(li, row, "l_orderkey")
		if s, ok := statuses[k]; !ok || s == status {
			statuses[k] = status
		} else {
			statuses[k] = "P"
		}
		qty := num(t, col(li, row, "l_quantity"))
		ext := num(t, col(li, row, "l_extendedprice"))
		if d := ext - qty*price[col(li, row, "l_partkey")]; d > 0.001 || d < -0.001 {
			t.Fatalf("extendedprice %v is not %v × %v", ext, qty, price[col(li, row, "l_partkey")])
		}
		disc, tax := num(t, col(li, row, "l_discount")), num(t, col(li, row, "l_tax"))
		if disc < 0 || disc > 0.10 || tax < 0 || tax > 0.08 || qty < 1 || qty > 50 {
			t.Fatalf("quantity %v, discount %v, tax %v out of range", qty, disc, tax)
		}
		o.total += ext * (1 + tax) * (1 - disc)
	}
	if flags["R"] == 0 || flags["A"] == 0 || flags["N"] == 0 {
		t.Errorf("return flags %v: want R, A and N", flags)
	}
	for _, row := range orders.Rows {
		k := col(orders, row, "o_orderkey")
		if got := byKey[k].status; got != statuses[k] {
			t.Fatalf("order %s: status %s, lines say %s", k, got, statuses[k])
		}
		if d := num(t, col(orders, row, "o_totalprice")) - byKey[k].total; d > 0.01 || d < -0.01 {
			t.Fatalf("order %s: total %s, lines sum to %.4f", k, col(orders, row, "o_totalprice"), byKey[k].total)
		}
	}
}

// The words and forms the queries filter on are there.
func TestQueriedWords(t *testing.T) {
	m := byName(Generate(Config{Scale: 0.01, Seed: 42}))
	count := func(table, column string, re *regexp.Regexp) int {
		n := 0
		tb := m[table]
		for _, row := range tb.Rows {
			if re.MatchString(col(tb, row, column)) {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		table, column, re string
		min, max          int // rows out of the table's
	}{
		{"part", "p_type", `^PROMO (ANODIZED|BURNISHED|PLATED|POLISHED|BRUSHED) (TIN|NICKEL|BRASS|STEEL|COPPER)$`, 200, 500},
		{"part", "p_type", ` BRASS$`, 250, 550},
		{"part", "p_container", `^SM CASE$`, 20, 100},
		{"part", "p_brand", `^Brand#[1-5][1-5]$`, 2000, 2000},
		{"part", "p_mfgr", `^Manufacturer#[1-5]$`, 2000, 2000},
		{"customer", "c_mktsegment", `^BUILDING$`, 200, 400},
		{"customer", "c_phone", `^[1-3][0-9]-[0-9]{3}-[0-9]{3}-[0-9]{4}$`, 1500, 1500},
		{"orders", "o_comment", `special.*requests`, 150, 400},
		{"orders", "o_orderpriority", `^1-URGENT$`, 2500, 3500},
		{"lineitem", "l_shipmode", `^(MAIL|SHIP)$`, 15000, 19000},
		{"supplier", "s_name", `^Supplier#000000[0-9]{3}$`, 100, 100},
	} {
		if n := count(c.table, c.column, regexp.MustCompile(c.re)); n < c.min || n > c.max {
			t.Errorf("%s.%s ~ %s: %d rows, want %d..%d", c.table, c.column, c.re, n, c.min, c.max)
		}
	}
	for _, row := range m["orders"].Rows {
		for _, v := range row {
			if strings.Count(v, "'") > 2 || strings.Contains(v, `\`) {
				t.Fatalf("literal %s", v)
			}
		}
	}
}

// Every value fits its column as the DDL declares it (a longer one fails
// the INSERT in strict mode), and text has no edge spaces.
func TestValuesFitColumns(t *testing.T) {
	width := regexp.MustCompile(`(?m)^\s+(\w+) (?:VAR)?CHAR\((\d+)\)`)
	for _, tb := range Generate(Config{Scale: 0.01, Seed: 5}) {
		for _, m := range width.FindAllStringSubmatch(tb.Create, -1) {
			n, _ := strconv.Atoi(m[2])
			longest := 0
			for _, row := range tb.Rows {
				v := col(tb, row, m[1])
				longest = max(longest, len(v))
				if strings.TrimSpace(v) != v {
					t.Fatalf("%s.%s: %q has edge spaces", tb.Name, m[1], v)
				}
			}
			if longest > n || longest == 0 {
				t.Errorf("%s.%s: longest value %d characters, column holds %d", tb.Name, m[1], longest, n)
			}
		}
	}
}

// At SF 0.01 every part's suppliers are clause 4.2.3's formula as written
// (the repeat rule of suppliersOf never applies).
func TestSuppliersFormula(t *testing.T) {
	g := &gen{suppliers: 100}
	for key := 1; key <= 2000; key++ {
		got := g.suppliersOf(key)
		for i := range got {
			if want := (key+(i*(100/4+(key-1)/100)))%100 + 1; got[i] != want {
				t.Fatalf("part %d supplier %d: %d, the formula gives %d", key, i, got[i], want)
			}
		}
	}
}

// planner/testdata/tpch.sql holds the queries one per line for the
// planner's golden tests (which may not import this package): it must hold
// these queries, word for word.
func TestGoldenQueriesSame(t *testing.T) {
	data, err := os.ReadFile("../../planner/testdata/tpch.sql")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		lines[l] = true
	}
	for _, q := range Queries {
		if flat := strings.Join(strings.Fields(q.SQL), " "); !lines[flat] {
			t.Errorf("Q%d is not in planner/testdata/tpch.sql as one line:\n%s", q.Number, flat)
		}
	}
}
