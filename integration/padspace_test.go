package integration

import (
	"fmt"
	"strings"
	"testing"
)

// TestTrailingSpacesAcrossShards: under a PAD SPACE collation 'apple' and
// 'APPLE ' are one value for GROUP BY, DISTINCT and ORDER BY, as on one
// server, although MariaDB's WEIGHT_STRING keeps a VARCHAR's trailing
// spaces; a binary string keeps them apart, as there, and a _bin collation (PAD SPACE, case-sensitive) equals them only when the case matches.
// Rows of each spelling sit on both clusters.
func TestTrailingSpacesAcrossShards(t *testing.T) {
	e := newShardEnv(t)
	e.both("DROP TABLE IF EXISTS items")
	e.both("CREATE TABLE items (id INT PRIMARY KEY, product_id INT NOT NULL, name VARCHAR(20) COLLATE utf8mb4_general_ci, " +
		"nb VARCHAR(20) COLLATE utf8mb4_bin, vb VARBINARY(20)) DEFAULT CHARSET utf8mb4")
	e.dropAtEnd("items")
	spellings := []string{"'apple'", "'APPLE '", "'apple  '", "'banana'", "'Banana '", "''", "' '", "NULL", "'élan'", "'ÉLAN '"}
	var vals []string
	for id := 1; id <= 120; id++ {
		s := spellings[id%len(spellings)]
		// Products 1..8 reach tables on s0 and s1 alike.
		vals = append(vals, fmt.Sprintf("(%d, %d, %s, %s, %s)", id, id%8+1, s, strings.ToLower(s), s))
	}
	e.both("INSERT INTO items (id, product_id, name, nb, vb) VALUES " + strings.Join(vals, ", "))
	syncReplicas(t)
	for _, tc := range []struct {
		q       string
		ordered bool
	}{
		{"SELECT COUNT(*), MIN(id) FROM items GROUP BY name", false},
		{"SELECT COUNT(DISTINCT name) FROM items", false},
		{"SELECT COUNT(*), MIN(id) FROM items GROUP BY nb", false},
		{"SELECT COUNT(*), MIN(id) FROM items GROUP BY vb", false},
		{"SELECT COUNT(*), MIN(id) FROM items GROUP BY name, nb", false},
		{"SELECT id FROM items ORDER BY name, id", true},
		{"SELECT id FROM items ORDER BY name DESC, id LIMIT 30", true},
		{"SELECT id FROM items ORDER BY nb, id", true},
		{"SELECT COUNT(*) FROM (SELECT DISTINCT LOWER(name) AS x FROM items) d", false},
		{"SELECT COUNT(*) FROM (SELECT DISTINCT nb FROM items) d", false},
		{"SELECT COUNT(*) FROM (SELECT DISTINCT name FROM items) d", false},
		{"SELECT id, ROW_NUMBER() OVER (PARTITION BY name ORDER BY id) FROM items", false},
		{"SELECT COUNT(*) FROM (SELECT name FROM items UNION SELECT name FROM items) u", false},
	} {
		p, r := query(e.proxy, tc.q), query(e.ref, tc.q)
		if p.err != nil || r.err != nil {
			t.Errorf("%s: proxy %v, ref %v", tc.q, p.err, r.err)
			continue
		}
		pr, rr := p.rows, r.rows
		if !tc.ordered {
			pr, rr = sortedCopy(pr), sortedCopy(rr)
		}
		if strings.Join(pr, "\n") != strings.Join(rr, "\n") {
			t.Errorf("%s:\n  proxy %v\n  ref   %v", tc.q, head(pr), head(rr))
		}
	}
}
