package parser

import (
	"regexp"
	"strings"
	"testing"
)

// calls matches a call of CONNECTION_ID() (not the column name `CONNECTION_ID()`).
var calls = regexp.MustCompile("(?i)(^|[^`])connection_id\\(")

func TestWithConnectionID(t *testing.T) {
	p := New()
	for _, sql := range []string{
		"SELECT CONNECTION_ID()",
		"SELECT connection_id() AS me, 1 FROM t WHERE id = CONNECTION_ID()",
	} {
		stmts, err := p.Parse(sql)
		if err != nil {
			t.Fatal(err)
		}
		if !stmts[0].UsesConnectionID {
			t.Fatalf("%s: CONNECTION_ID() not noticed", sql)
		}
		out, err := p.WithSessionValues(stmts[0], SessionValues{ConnectionID: 4242}, TextMode{})
		if err != nil {
			t.Fatal(err)
		}
		if calls.MatchString(out.SQL) || !strings.Contains(out.SQL, "4242") || out.UsesConnectionID {
			t.Errorf("%s → %s", sql, out.SQL)
		}
		if strings.HasPrefix(sql, "SELECT CONNECTION_ID()") && !strings.Contains(out.SQL, "AS `CONNECTION_ID()`") {
			t.Errorf("the column loses its name: %s", out.SQL)
		}
		if stmts[0].SQL != sql || !strings.Contains(strings.ToLower(stmts[0].SQL), "connection_id") {
			t.Errorf("the original statement changed: %s", stmts[0].SQL)
		}
	}
}
