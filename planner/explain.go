package planner

import (
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// explainPlan answers EXPLAIN [FORMAT=JSON] of a statement over sharded
// tables: the statement is planned as it would run, and each physical
// statement it sends gets the server's own EXPLAIN, its rows followed by
// the cluster and physical tables they are about (engine.ShardExplain).
// EXPLAIN SHARDGATE stays the view of the proxy's plan. Statements the
// proxy runs through its own primitives (a streamed INSERT … SELECT,
// rows moving between tables) have no one statement per server to
// explain: refused. MariaDB's ANALYZE runs the statement and reports
// what each step read: each shard's SELECT gets its own ANALYZE (it
// reads, on a replica); ANALYZE of a write would write, and is refused.
// MySQL's EXPLAIN ANALYZE is MariaDB's syntax error.
func (pl *Planner) explainPlan(st *parser.Statement, n *ast.ExplainStmt, f Facts) (*draft, error) {
	verb := "EXPLAIN "
	if n.Analyze {
		if !st.AnalyzeStatement {
			return nil, syntaxErrorNear(st.SQL, "ANALYZE")
		}
		switch x := n.Stmt.(type) {
		case *ast.SelectStmt:
			if x.LockInfo != nil && x.LockInfo.LockType != ast.SelectLockNone {
				return nil, notSupported("ANALYZE of a locking read over sharded tables is not supported: it would lock on every shard; use EXPLAIN")
			}
			if x.SelectIntoOpt != nil {
				return nil, notSupported("ANALYZE of SELECT … INTO over sharded tables is not supported: it would write on every shard; use EXPLAIN")
			}
		case *ast.SetOprStmt:
		default:
			return nil, notSupported("ANALYZE of a write over sharded tables is not supported: it runs the write on every shard; use EXPLAIN")
		}
		verb = "ANALYZE "
	}
	prefix := verb
	switch strings.ToLower(n.Format) {
	case "", "row", "traditional":
	case "json":
		prefix = verb + "FORMAT=JSON "
	default:
		return nil, notSupported("%sFORMAT=%s over sharded tables is not supported", verb, n.Format)
	}
	text, err := parser.RestoreIn(n.Stmt, f.Text)
	if err != nil {
		return nil, err
	}
	p := parser.New()
	p.SetMode(f.Text)
	stmts, err := p.Parse(text)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, notSupported("this EXPLAIN is not supported")
	}
	inner := stmts[0]
	d, err := pl.plan(inner, f)
	if err != nil {
		if !isNotSupported(err) {
			return nil, err
		}
		// A join the proxy evaluates (Plan's join planning) has steps
		// built while it runs: no statement to give the servers' EXPLAIN.
		if jd, jerr := pl.joinPlan(inner, f); jd != nil && jerr == nil {
			return nil, notSupported("EXPLAIN of a join the proxy evaluates over shards or clusters is not supported: its statements are built as it runs; EXPLAIN SHARDGATE shows its plan")
		}
		return nil, err
	}
	if d.Root != nil || len(d.Steps) == 0 {
		return nil, notSupported("EXPLAIN of this statement over sharded tables is not supported: the proxy runs it as more than one statement per server")
	}
	// EXPLAIN runs nothing, of a write neither: a replica answers it.
	routes := make([]*engine.Route, len(d.Steps))
	for i, s := range d.Steps {
		routes[i] = &engine.Route{Cluster: s.Cluster, Tables: s.Tables, SQL: prefix + s.SQL, Replica: true}
	}
	return &draft{Read: true, Root: &engine.ShardExplain{Routes: routes}}, nil
}

// syntaxErrorNear is MariaDB's 1064 for a statement its grammar stops
// reading at word (EXPLAIN ANALYZE: at ANALYZE): the text from the word
// on, 80 characters at most, and the line it is on, as the server
// quotes them.
func syntaxErrorNear(sql, word string) error {
	at := strings.Index(strings.ToUpper(sql), strings.ToUpper(word))
	if at < 0 {
		at = 0
	}
	rest := sql[at:]
	if r := []rune(rest); len(r) > 80 {
		rest = string(r[:80])
	}
	line := 1 + strings.Count(sql[:at], "\n")
	return wire.Errorf(mysql.ER_PARSE_ERROR, "You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server version for the right syntax to use near '%s' at line %d", rest, line)
}
