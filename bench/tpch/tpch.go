// Package tpch generates a small TPC-H instance (TPC-H specification 3.0,
// clause 1.4 for the schema, clause 4.2.3 for the values) as MariaDB DDL
// and batched INSERT statements, and holds the benchmark's queries with the
// specification's validation parameters (clause 2.4).
//
// It is written from the specification, not from dbgen: the values follow
// the spec's rules (key ranges, the sparse order keys, the date arithmetic
// between order, ship, commit and receipt dates, return flag and line
// status against CURRENTDATE, prices computed from the part key), but the
// random stream is Go's and the text grammar of the comments is a small
// one, so the rows are not dbgen's rows and the answers are not the
// specification's answer set. They need not be: the proxy is compared with
// one MariaDB server holding the same rows, not with published answers.
//
// Generation is deterministic: the same Scale and Seed give the same rows,
// statement for statement.
package tpch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config chooses the instance. Scale 1 is the specification's SF 1 (6
// million lineitem rows); 0.01 gives about 60,000.
type Config struct {
	Scale float64
	Seed  uint64
}

// Table is one generated table: its DDL and its rows as SQL literals.
type Table struct {
	Name    string
	Create  string // CREATE TABLE statement
	Columns []string
	Rows    [][]string // each value an SQL literal: 12, 'text', '1995-06-17', 123.45
}

// Inserts returns the table's rows as INSERT statements of at most batch
// rows each, in generation order.
func (t *Table) Inserts(batch int) []string {
	if batch < 1 {
		batch = 1
	}
	var out []string
	head := "INSERT INTO " + t.Name + " (" + strings.Join(t.Columns, ", ") + ") VALUES "
	for start := 0; start < len(t.Rows); start += batch {
		end := min(start+batch, len(t.Rows))
		var b strings.Builder
		b.WriteString(head)
		for i, row := range t.Rows[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			b.WriteString(strings.Join(row, ", "))
			b.WriteString(")")
		}
		out = append(out, b.String())
	}
	return out
}

// Dates of the specification (clause 4.2.2.12): orders are dated from
// STARTDATE to ENDDATE - 151 days; CURRENTDATE decides return flags and
// line statuses.
var (
	startDate   = time.Date(1992, 1, 1, 0, 0, 0, 0, time.UTC)
	endDate     = time.Date(1998, 12, 31, 0, 0, 0, 0, time.UTC)
	currentDate = time.Date(1995, 6, 17, 0, 0, 0, 0, time.UTC)
)

// Generate builds the eight tables in load order (region, nation, part,
// supplier, partsupp, customer, orders, lineitem).
func Generate(c Config) []*Table {
	g := &gen{cfg: c, rng: rand.New(rand.NewPCG(c.Seed, 0x7470636868))}
	g.parts = max(1, int(200000*c.Scale))
	g.suppliers = max(4, int(10000*c.Scale)) // PS_SUPPKEY's formula needs S/4 ≥ 1
	g.customers = max(3, int(150000*c.Scale))
	g.orders = max(1, int(1500000*c.Scale))
	g.clerks = max(1, int(1000*c.Scale))
	tables := []*Table{g.region(), g.nation(), g.part(), g.supplier(), g.partsupp(), g.customer()}
	orders, lineitem := g.ordersAndLines()
	return append(tables, orders, lineitem)
}

type gen struct {
	cfg                                         Config
	rng                                         *rand.Rand
	parts, suppliers, customers, orders, clerks int
}

// between returns a uniform integer in [lo, hi].
func (g *gen) between(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }

func (g *gen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func quote(s string) string {
	// The generator's text is drawn from its own word lists: no quote or
	// backslash can occur, so plain quoting is exact in every sql_mode.
	if strings.ContainsAny(s, `'\`) {
		panic("tpch: generated text holds a quote: " + s)
	}
	return "'" + s + "'"
}

func date(t time.Time) string { return "'" + t.Format("2006-01-02") + "'" }

// money renders an amount in cents as DECIMAL(15,2) text.
func money(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// keyName is the spec's "Supplier#000000001" form: 9 digits, zero padded.
func keyName(prefix string, key int) string { return fmt.Sprintf("%s#%09d", prefix, key) }

// phone is clause 4.2.2.9: the country code is the nation key + 10.
func (g *gen) phone(nation int) string {
	return fmt.Sprintf("%d-%d-%d-%d", nation+10, g.between(100, 999), g.between(100, 999), g.between(1000, 9999))
}

// acctbal is a uniform amount in [-999.99, 9999.99].
func (g *gen) acctbal() string { return money(int64(g.between(-99999, 999999))) }

// address is the spec's v-string: random alphanumeric characters, length
// uniform in [10, 40].
func (g *gen) address() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,. "
	n := g.between(10, 40)
	b := make([]byte, n-1)
	for i := range b {
		b[i] = chars[g.rng.IntN(len(chars))]
	}
	// MariaDB strips trailing spaces of CHAR but keeps VARCHAR's; keep the
	// text free of edge spaces (the last character is a letter) so neither
	// side has a reason to differ.
	return strings.TrimSpace(string(b)) + "x"
}

var regions = []string{"AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"}

// nations is clause 4.2.3's fixed list: name and region key, in key order.
var nations = []struct {
	name   string
	region int
}{
	{"ALGERIA", 0}, {"ARGENTINA", 1}, {"BRAZIL", 1}, {"CANADA", 1}, {"EGYPT", 4},
	{"ETHIOPIA", 0}, {"FRANCE", 3}, {"GERMANY", 3}, {"INDIA", 2}, {"INDONESIA", 2},
	{"IRAN", 4}, {"IRAQ", 4}, {"JAPAN", 2}, {"JORDAN", 4}, {"KENYA", 0},
	{"MOROCCO", 0}, {"MOZAMBIQUE", 0}, {"PERU", 1}, {"CHINA", 2}, {"ROMANIA", 3},
	{"SAUDI ARABIA", 4}, {"VIETNAM", 2}, {"RUSSIA", 3}, {"UNITED KINGDOM", 3}, {"UNITED STATES", 1},
}

func (g *gen) region() *Table {
	t := &Table{Name: "region", Columns: []string{"r_regionkey", "r_name", "r_comment"}, Create: `CREATE TABLE region (
  r_regionkey INT NOT NULL,
  r_name CHAR(25) NOT NULL,
  r_comment VARCHAR(152),
  PRIMARY KEY (r_regionkey))`}
	for i, name := range regions {
		t.Rows = append(t.Rows, []string{strconv.Itoa(i), quote(name), quote(g.text(31, 115))})
	}
	return t
}

func (g *gen) nation() *Table {
	t := &Table{Name: "nation", Columns: []string{"n_nationkey", "n_name", "n_regionkey", "n_comment"}, Create: `CREATE TABLE nation (
  n_nationkey INT NOT NULL,
  n_name CHAR(25) NOT NULL,
  n_regionkey INT NOT NULL,
  n_comment VARCHAR(152),
  PRIMARY KEY (n_nationkey))`}
	for i, n := range nations {
		t.Rows = append(t.Rows, []string{strconv.Itoa(i), quote(n.name), strconv.Itoa(n.region), quote(g.text(31, 114))})
	}
	return t
}

// Part types, containers and segments: clause 4.2.2.13's syllables.
var (
	typeS1      = []string{"STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"}
	typeS2      = []string{"ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"}
	typeS3      = []string{"TIN", "NICKEL", "BRASS", "STEEL", "COPPER"}
	containerS1 = []string{"SM", "LG", "MED", "JUMBO", "WRAP"}
	containerS2 = []string{"CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM"}
	segments    = []string{"AUTOMOBILE", "BUILDING", "FURNITURE", "MACHINERY", "HOUSEHOLD"}
	priorities  = []string{"1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"}
	instructs   = []string{"DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"}
	modes       = []string{"REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"}
	// colors are P_NAME's words: 92 color names, after the spec's list.
	colors = []string{"almond", "antique", "aquamarine", "azure", "beige", "bisque", "black", "blanched", "blue",
		"blush", "brown", "burlywood", "burnished", "chartreuse", "chiffon", "chocolate", "coral", "cornflower",
		"cornsilk", "cream", "cyan", "dark", "deep", "dim", "dodger", "drab", "firebrick", "floral", "forest",
		"frosted", "gainsboro", "ghost", "goldenrod", "green", "grey", "honeydew", "hot", "indian", "ivory",
		"khaki", "lace", "lavender", "lawn", "lemon", "light", "lime", "linen", "magenta", "maroon", "medium",
		"metallic", "midnight", "mint", "misty", "moccasin", "navajo", "navy", "olive", "orange", "orchid",
		"pale", "papaya", "peach", "peru", "pink", "plum", "powder", "puff", "purple", "red", "rose", "rosy",
		"royal", "saddle", "salmon", "sandy", "seashell", "sienna", "sky", "slate", "smoke", "snow", "spring",
		"steel", "tan", "thistle", "tomato", "turquoise", "violet", "wheat", "white", "yellow"}
)

// retailCents is clause 4.2.3's P_RETAILPRICE, in cents:
// (90000 + ((key/10) mod 20001) + 100 × (key mod 1000)) / 100.
func retailCents(key int) int64 {
	return int64(90000 + (key/10)%20001 + 100*(key%1000))
}

func (g *gen) part() *Table {
	t := &Table{Name: "part", Columns: []string{"p_partkey", "p_name", "p_mfgr", "p_brand", "p_type", "p_size", "p_container", "p_retailprice", "p_comment"}, Create: `CREATE TABLE part (
  p_partkey INT NOT NULL,
  p_name VARCHAR(55) NOT NULL,
  p_mfgr CHAR(25) NOT NULL,
  p_brand CHAR(10) NOT NULL,
  p_type VARCHAR(25) NOT NULL,
  p_size INT NOT NULL,
  p_container CHAR(10) NOT NULL,
  p_retailprice DECIMAL(15,2) NOT NULL,
  p_comment VARCHAR(23) NOT NULL,
  PRIMARY KEY (p_partkey))`}
	for key := 1; key <= g.parts; key++ {
		// Five distinct colors.
		perm := g.rng.Perm(len(colors))[:5]
		words := make([]string, 5)
		for i, p := range perm {
			words[i] = colors[p]
		}
		m := g.between(1, 5)
		t.Rows = append(t.Rows, []string{
			strconv.Itoa(key),
			quote(strings.Join(words, " ")),
			quote(fmt.Sprintf("Manufacturer#%d", m)),
			quote(fmt.Sprintf("Brand#%d%d", m, g.between(1, 5))),
			quote(g.pick(typeS1) + " " + g.pick(typeS2) + " " + g.pick(typeS3)),
			strconv.Itoa(g.between(1, 50)),
			quote(g.pick(containerS1) + " " + g.pick(containerS2)),
			money(retailCents(key)),
			quote(g.text(5, 22)),
		})
	}
	return t
}

func (g *gen) supplier() *Table {
	t := &Table{Name: "supplier", Columns: []string{"s_suppkey", "s_name", "s_address", "s_nationkey", "s_phone", "s_acctbal", "s_comment"}, Create: `CREATE TABLE supplier (
  s_suppkey INT NOT NULL,
  s_name CHAR(25) NOT NULL,
  s_address VARCHAR(40) NOT NULL,
  s_nationkey INT NOT NULL,
  s_phone CHAR(15) NOT NULL,
  s_acctbal DECIMAL(15,2) NOT NULL,
  s_comment VARCHAR(101) NOT NULL,
  PRIMARY KEY (s_suppkey),
  KEY (s_nationkey))`}
	for key := 1; key <= g.suppliers; key++ {
		nation := g.between(0, 24)
		comment := g.text(25, 100)
		// Clause 4.2.3: some suppliers' comments hold "Customer …
		// Complaints" or "Customer … Recommends" (query 16 looks for them).
		switch g.rng.IntN(200) {
		case 0:
			comment = trimTo("Customer "+g.text(5, 20)+" Complaints "+comment, 100)
		case 1:
			comment = trimTo("Customer "+g.text(5, 20)+" Recommends "+comment, 100)
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(key), quote(keyName("Supplier", key)), quote(g.address()), strconv.Itoa(nation), quote(g.phone(nation)), g.acctbal(), quote(comment)})
	}
	return t
}

// suppliersOf are clause 4.2.3's four PS_SUPPKEYs of a part key (i in
// 0..3): (key + (i × ((S/4) + (key-1)/S))) mod S + 1. The formula assumes
// SF ≥ 0.01 or so; with fewer suppliers the step can be a multiple of S/2
// or S and name one supplier twice. Such a repeat (never at SF 0.01, whose
// keys are the spec's) takes the next supplier not yet named.
func (g *gen) suppliersOf(key int) [4]int {
	s := g.suppliers
	var out [4]int
	for i := range out {
		k := (key+(i*((s/4)+(key-1)/s)))%s + 1
		for slices.Contains(out[:i], k) {
			k = k%s + 1
		}
		out[i] = k
	}
	return out
}

func (g *gen) partsupp() *Table {
	t := &Table{Name: "partsupp", Columns: []string{"ps_partkey", "ps_suppkey", "ps_availqty", "ps_supplycost", "ps_comment"}, Create: `CREATE TABLE partsupp (
  ps_partkey INT NOT NULL,
  ps_suppkey INT NOT NULL,
  ps_availqty INT NOT NULL,
  ps_supplycost DECIMAL(15,2) NOT NULL,
  ps_comment VARCHAR(199) NOT NULL,
  PRIMARY KEY (ps_partkey, ps_suppkey),
  KEY (ps_suppkey))`}
	for key := 1; key <= g.parts; key++ {
		for _, supp := range g.suppliersOf(key) {
			t.Rows = append(t.Rows, []string{strconv.Itoa(key), strconv.Itoa(supp), strconv.Itoa(g.between(1, 9999)), money(int64(g.between(100, 100000))), quote(g.text(49, 198))})
		}
	}
	return t
}

func (g *gen) customer() *Table {
	t := &Table{Name: "customer", Columns: []string{"c_custkey", "c_name", "c_address", "c_nationkey", "c_phone", "c_acctbal", "c_mktsegment", "c_comment"}, Create: `CREATE TABLE customer (
  c_custkey INT NOT NULL,
  c_name VARCHAR(25) NOT NULL,
  c_address VARCHAR(40) NOT NULL,
  c_nationkey INT NOT NULL,
  c_phone CHAR(15) NOT NULL,
  c_acctbal DECIMAL(15,2) NOT NULL,
  c_mktsegment CHAR(10) NOT NULL,
  c_comment VARCHAR(117) NOT NULL,
  PRIMARY KEY (c_custkey))`}
	for key := 1; key <= g.customers; key++ {
		nation := g.between(0, 24)
		t.Rows = append(t.Rows, []string{strconv.Itoa(key), quote(keyName("Customer", key)), quote(g.address()), strconv.Itoa(nation), quote(g.phone(nation)), g.acctbal(), quote(g.pick(segments)), quote(g.text(29, 116))})
	}
	return t
}

// OrderKey is the i-th order's key (i from 1): clause 4.2.3 uses only the
// first 8 of every 32 keys, so keys are sparse (1..8, 33..40, …).
func OrderKey(i int) int { return (i-1)/8*32 + (i-1)%8 + 1 }

func (g *gen) ordersAndLines() (*Table, *Table) {
	orders := &Table{Name: "orders", Columns: []string{"o_orderkey", "o_custkey", "o_orderstatus", "o_totalprice", "o_orderdate", "o_orderpriority", "o_clerk", "o_shippriority", "o_comment"}, Create: `CREATE TABLE orders (
  o_orderkey INT NOT NULL,
  o_custkey INT NOT NULL,
  o_orderstatus CHAR(1) NOT NULL,
  o_totalprice DECIMAL(15,2) NOT NULL,
  o_orderdate DATE NOT NULL,
  o_orderpriority CHAR(15) NOT NULL,
  o_clerk CHAR(15) NOT NULL,
  o_shippriority INT NOT NULL,
  o_comment VARCHAR(79) NOT NULL,
  PRIMARY KEY (o_orderkey),
  KEY (o_custkey),
  KEY (o_orderdate))`}
	lines := &Table{Name: "lineitem", Columns: []string{"l_orderkey", "l_partkey", "l_suppkey", "l_linenumber", "l_quantity", "l_extendedprice", "l_discount", "l_tax", "l_returnflag", "l_linestatus", "l_shipdate", "l_commitdate", "l_receiptdate", "l_shipinstruct", "l_shipmode", "l_comment"}, Create: `CREATE TABLE lineitem (
  l_orderkey INT NOT NULL,
  l_partkey INT NOT NULL,
  l_suppkey INT NOT NULL,
  l_linenumber INT NOT NULL,
  l_quantity DECIMAL(15,2) NOT NULL,
  l_extendedprice DECIMAL(15,2) NOT NULL,
  l_discount DECIMAL(15,2) NOT NULL,
  l_tax DECIMAL(15,2) NOT NULL,
  l_returnflag CHAR(1) NOT NULL,
  l_linestatus CHAR(1) NOT NULL,
  l_shipdate DATE NOT NULL,
  l_commitdate DATE NOT NULL,
  l_receiptdate DATE NOT NULL,
  l_shipinstruct CHAR(25) NOT NULL,
  l_shipmode CHAR(10) NOT NULL,
  l_comment VARCHAR(44) NOT NULL,
  PRIMARY KEY (l_orderkey, l_linenumber),
  KEY (l_partkey),
  KEY (l_shipdate))`}
	days := int(endDate.Sub(startDate).Hours()/24) - 151
	for i := 1; i <= g.orders; i++ {
		key := OrderKey(i)
		// Clause 4.2.3: O_CUSTKEY is never a multiple of 3, so a third of
		// the customers have no orders (query 13 counts them).
		cust := g.between(1, g.customers)
		for cust%3 == 0 {
			cust = g.between(1, g.customers)
		}
		orderDate := startDate.AddDate(0, 0, g.between(0, days))
		n := g.between(1, 7)
		var total int64 // in 1/1,000,000 of a cent: price × (1+tax) × (1-discount) exactly
		shipped := 0
		for ln := 1; ln <= n; ln++ {
			part := g.between(1, g.parts)
			supp := g.suppliersOf(part)[g.between(0, 3)]
			qty := int64(g.between(1, 50))
			ext := qty * retailCents(part)
			disc := int64(g.between(0, 10)) // hundredths
			tax := int64(g.between(0, 8))   // hundredths
			ship := orderDate.AddDate(0, 0, g.between(1, 121))
			commit := orderDate.AddDate(0, 0, g.between(30, 90))
			receipt := ship.AddDate(0, 0, g.between(1, 30))
			flag := "N"
			if !receipt.After(currentDate) {
				flag = g.pick([]string{"R", "A"})
			}
			status := "O"
			if !ship.After(currentDate) {
				status = "F"
				shipped++
			}
			total += ext * (100 + tax) * (100 - disc)
			lines.Rows = append(lines.Rows, []string{
				strconv.Itoa(key), strconv.Itoa(part), strconv.Itoa(supp), strconv.Itoa(ln),
				strconv.FormatInt(qty, 10), money(ext), money(disc), money(tax),
				quote(flag), quote(status), date(ship), date(commit), date(receipt),
				quote(g.pick(instructs)), quote(g.pick(modes)), quote(g.text(10, 43)),
			})
		}
		// O_ORDERSTATUS: F when every line is F, O when every line is O,
		// P otherwise.
		status := "P"
		switch shipped {
		case n:
			status = "F"
		case 0:
			status = "O"
		}
		orders.Rows = append(orders.Rows, []string{
			strconv.Itoa(key), strconv.Itoa(cust), quote(status),
			money((total + 5000) / 10000), // rounded half up to the cent
			date(orderDate), quote(g.pick(priorities)),
			quote(keyName("Clerk", g.between(1, g.clerks))), "0", quote(g.orderComment()),
		})
	}
	return orders, lines
}

// orderComment is O_COMMENT: text of 19 to 78 characters. Query 13 leaves
// out orders whose comment matches '%special%requests%': about one in a
// hundred in the specification's text. The simplified grammar makes that
// rarer (two words among dozens), so one comment in a hundred begins
// with them.
func (g *gen) orderComment() string {
	if g.rng.IntN(100) == 0 {
		return trimTo("special requests "+g.pick(verbs)+" "+g.text(19, 78), g.between(19, 78))
	}
	return g.text(19, 78)
}

// The text grammar (clause 4.2.2.10), simplified: sentences of the form
// [adverb] adjective noun verb [adverb] [preposition the adjective noun]
// terminator, from the spec's word lists (abridged). "special" and
// "requests" are among them, as in the specification.
var (
	nouns = []string{"foxes", "ideas", "theodolites", "pinto beans", "instructions", "dependencies", "excuses",
		"platelets", "asymptotes", "courts", "dolphins", "multipliers", "sauternes", "warthogs", "frets", "dinos",
		"attainments", "somas", "patterns", "forges", "braids", "frays", "warhorses", "dugouts", "notornis",
		"epitaphs", "pearls", "tithes", "waters", "orbits", "gifts", "sheaves", "depths", "sentiments", "decoys",
		"realms", "pains", "grouches", "escapades", "packages", "requests", "accounts", "deposits"}
	verbs = []string{"sleep", "wake", "are", "cajole", "haggle", "nag", "use", "boost", "affix", "detect",
		"integrate", "maintain", "nod", "was", "lose", "sublate", "solve", "thrash", "promise", "engage", "hinder",
		"print", "x-ray", "breach", "eat", "grow", "impress", "mold", "poach", "serve", "run", "dazzle", "snooze",
		"doze", "unwind", "kindle", "play", "hang", "believe", "doubt"}
	adjectives = []string{"furious", "sly", "careful", "blithe", "quick", "fluffy", "slow", "quiet", "ruthless",
		"thin", "close", "dogged", "daring", "brave", "stealthy", "permanent", "enticing", "idle", "busy",
		"regular", "final", "ironic", "even", "bold", "silent", "special", "pending", "unusual", "express"}
	adverbs = []string{"sometimes", "always", "never", "furiously", "slyly", "carefully", "blithely", "quickly",
		"fluffily", "slowly", "quietly", "ruthlessly", "thinly", "closely", "doggedly", "daringly", "bravely",
		"stealthily", "permanently", "enticingly", "idly", "busily", "regularly", "finally", "ironically",
		"evenly", "boldly", "silently"}
	prepositions = []string{"about", "above", "according to", "across", "after", "against", "along", "among",
		"around", "at", "atop", "before", "behind", "beneath", "beside", "between", "beyond", "by", "despite",
		"during", "except", "for", "from", "inside", "into", "near", "of", "on", "outside", "over", "past",
		"since", "through", "to", "toward", "under", "until", "upon", "without", "with", "within"}
	terminators = []string{".", ";", ":", "?", "!", "--"}
)

func (g *gen) sentence() string {
	var w []string
	if g.rng.IntN(3) == 0 {
		w = append(w, g.pick(adverbs))
	}
	w = append(w, g.pick(adjectives), g.pick(nouns), g.pick(verbs))
	if g.rng.IntN(2) == 0 {
		w = append(w, g.pick(adverbs))
	}
	if g.rng.IntN(2) == 0 {
		w = append(w, g.pick(prepositions), "the", g.pick(adjectives), g.pick(nouns))
	}
	return strings.Join(w, " ") + g.pick(terminators)
}

// text is a string of the grammar's sentences, cut to a length uniform in
// [lo, hi] (the spec cuts its text pool the same way, mid-word).
func (g *gen) text(lo, hi int) string {
	n := g.between(lo, hi)
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(g.sentence())
	}
	return trimTo(b.String(), n)
}

// trimTo cuts s to at most n bytes without leaving an edge space (VARCHAR
// keeps trailing spaces, CHAR does not; neither matters to the queries).
func trimTo(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.TrimSpace(s)
}
