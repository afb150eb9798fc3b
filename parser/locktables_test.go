package parser

import (
	"strings"
	"testing"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// TestLockTablesForms: MariaDB's LOCK TABLES forms beyond TiDB's grammar
// parse, with each table's alias and lock type; anything else stays a
// syntax error (1064).
func TestLockTablesForms(t *testing.T) {
	cases := []struct {
		sql     string
		tables  []string // schema.table or table
		aliases []string
		modes   []ast.TableLockType
	}{
		{"LOCK TABLES t AS a READ", []string{"t"}, []string{"a"}, []ast.TableLockType{ast.TableLockRead}},
		{"lock table t a read local", []string{"t"}, []string{"a"}, []ast.TableLockType{ast.TableLockReadLocal}},
		{"LOCK TABLES s.t AS `x``y` LOW_PRIORITY WRITE, u WRITE CONCURRENT", []string{"s.t", "u"}, []string{"x`y", ""}, []ast.TableLockType{ast.TableLockWrite, ast.TableLockWrite}},
		{"LOCK TABLES `s`.`t 1` `b` WRITE,`c`.d READ", []string{"s.t 1", "c.d"}, []string{"b", ""}, []ast.TableLockType{ast.TableLockWrite, ast.TableLockRead}},
		{"  LOCK TABLES t LOW_PRIORITY WRITE  ", []string{"t"}, []string{""}, []ast.TableLockType{ast.TableLockWrite}},
	}
	for _, c := range cases {
		stmts, err := New().Parse(c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		n, ok := stmts[0].Node.(*ast.LockTablesStmt)
		if !ok || len(n.TableLocks) != len(c.tables) {
			t.Errorf("%s: parsed as %T", c.sql, stmts[0].Node)
			continue
		}
		if stmts[0].SQL != c.sql {
			t.Errorf("%s: SQL %q, want the text as sent", c.sql, stmts[0].SQL)
		}
		for i, tl := range n.TableLocks {
			name := tl.Table.Name.O
			if tl.Table.Schema.O != "" {
				name = tl.Table.Schema.O + "." + name
			}
			if name != c.tables[i] || stmts[0].LockAliases[i] != c.aliases[i] || tl.Type != c.modes[i] {
				t.Errorf("%s: lock %d is %s AS %q %v, want %s AS %q %v", c.sql, i, name, stmts[0].LockAliases[i], tl.Type, c.tables[i], c.aliases[i], c.modes[i])
			}
		}
	}
	for _, bad := range []string{
		"LOCK TABLES t AS READ",
		"LOCK TABLES t AS a",
		"LOCK TABLES t a b READ",
		"LOCK TABLES t 'a' READ",
		"LOCK TABLES t AS a READ,",
		"LOCK TABLES t AS a READ; DROP TABLE u",
		"LOCK TABLES t AS a READ /* x */",
		"LOCK TABLES t AS `a READ",
		"LOCK TABLES",
		"LOCK t AS a READ",
	} {
		if _, err := New().Parse(bad); err == nil || !strings.Contains(err.Error(), "1064") {
			t.Errorf("%s: %v, want a syntax error (1064)", bad, err)
		}
	}
}
