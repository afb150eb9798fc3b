package parser

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// LOCK TABLES as MariaDB writes it, beyond TiDB's grammar: a table may
// carry an alias (`t AS a`, `t a`), which later statements must then use
// (one server answers 1100 for the bare name), and the lock may be
// `LOW_PRIORITY WRITE` (accepted, no effect since MariaDB 5.5) or `WRITE
// CONCURRENT` (concurrent inserts, a MyISAM matter; InnoDB takes the same
// lock as WRITE). Found writing issue 15's dump paths: the statement was
// answered 1064 although MariaDB runs it.

// parseLockTables reads such a statement: Node is the LOCK TABLES without
// aliases and with the lock types TiDB knows, LockAliases the aliases by
// position (lower case is not applied: MariaDB compares table aliases
// case-sensitively under lower_case_table_names=0), SQL the text as sent.
// It gives nil for anything else, so that the syntax error stands.
func (p *Parser) parseLockTables(sql string) *Statement {
	toks, ok := lockTokens(sql)
	if !ok || len(toks) < 2 || !strings.EqualFold(toks[0], "LOCK") ||
		!strings.EqualFold(toks[1], "TABLES") && !strings.EqualFold(toks[1], "TABLE") {
		return nil
	}
	var items []string
	var aliases []string
	rest := toks[2:]
	for {
		if len(rest) == 0 || isLockWord(rest[0]) {
			return nil
		}
		name := rest[0]
		rest = rest[1:]
		alias := ""
		if len(rest) > 0 && strings.EqualFold(rest[0], "AS") {
			if len(rest) < 2 || rest[1] == "," {
				return nil
			}
			alias, rest = rest[1], rest[2:]
		} else if len(rest) > 0 && rest[0] != "," && !isLockWord(rest[0]) {
			alias, rest = rest[0], rest[1:]
		}
		mode, n := lockMode(rest)
		if n == 0 {
			return nil
		}
		rest = rest[n:]
		items = append(items, name+" "+mode)
		aliases = append(aliases, unquoteAlias(alias))
		if len(rest) == 0 {
			break
		}
		if rest[0] != "," {
			return nil
		}
		rest = rest[1:]
	}
	nodes, err := p.parseSQL("LOCK TABLES " + strings.Join(items, ", "))
	if err != nil || len(nodes) != 1 {
		return nil
	}
	n, ok := nodes[0].(*ast.LockTablesStmt)
	if !ok || len(n.TableLocks) != len(aliases) {
		return nil
	}
	st := Classify(n, sql)
	st.LockAliases = aliases
	return st
}

// lockMode reads a lock type at the start of toks, in the words TiDB
// knows, and how many tokens it took (0: none).
func lockMode(toks []string) (string, int) {
	word := func(i int, w string) bool { return i < len(toks) && strings.EqualFold(toks[i], w) }
	switch {
	case word(0, "READ") && word(1, "LOCAL"):
		return "READ LOCAL", 2
	case word(0, "READ"):
		return "READ", 1
	case word(0, "LOW_PRIORITY") && word(1, "WRITE"):
		return "WRITE", 2
	case word(0, "WRITE") && word(1, "CONCURRENT"):
		return "WRITE", 2
	case word(0, "WRITE"):
		return "WRITE", 1
	}
	return "", 0
}

func isLockWord(tok string) bool {
	for _, w := range []string{"READ", "WRITE", "LOW_PRIORITY"} {
		if strings.EqualFold(tok, w) {
			return true
		}
	}
	return false
}

// lockTokens splits a LOCK TABLES statement into words (a dotted name,
// backquotes kept, is one token) and commas. Anything else — a string, a
// comment, a semicolon — makes it give up (ok false): such text is left to
// the syntax error.
func lockTokens(sql string) (toks []string, ok bool) {
	s := strings.TrimRight(strings.TrimSpace(sql), " \t\r\n")
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == ',':
			toks = append(toks, ",")
			i++
		case c == '`' || isWordByte(c):
			start := i
			for { // one part of a dotted name per turn
				j, ok := namePart(s, i)
				if !ok {
					return nil, false
				}
				i = j
				if i < len(s) && s[i] == '.' {
					i++
					continue
				}
				break
			}
			toks = append(toks, s[start:i])
		default:
			return nil, false
		}
	}
	return toks, true
}

// namePart reads one part of a name at s[i]: a backquoted name (with
// doubled backquotes inside) or a run of word bytes. It returns the offset
// after it.
func namePart(s string, i int) (int, bool) {
	if i >= len(s) {
		return i, false
	}
	if s[i] != '`' {
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		return j, j > i
	}
	for j := i + 1; j < len(s); j++ {
		if s[j] != '`' {
			continue
		}
		if j+1 < len(s) && s[j+1] == '`' {
			j++
			continue
		}
		return j + 1, true
	}
	return i, false
}

// unquoteAlias removes an alias's backquotes.
func unquoteAlias(a string) string {
	if len(a) >= 2 && a[0] == '`' && a[len(a)-1] == '`' {
		return strings.ReplaceAll(a[1:len(a)-1], "``", "`")
	}
	return a
}
