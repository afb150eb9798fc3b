package planner

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
)

// explainPlan answers EXPLAIN [FORMAT=JSON] of a statement over sharded
// tables: the statement is planned as it would run, and each physical
// statement it sends gets the server's own EXPLAIN, its rows followed by
// the cluster and physical tables they are about (engine.ShardExplain).
// EXPLAIN SHARDGATE stays the view of the proxy's plan. Statements the
// proxy runs through its own primitives (a streamed INSERT … SELECT,
// rows moving between tables) have no one statement per server to
// explain, and ANALYZE would run the statement: both are refused.
func (pl *Planner) explainPlan(n *ast.ExplainStmt, f Facts) (*draft, error) {
	if n.Analyze {
		return nil, notSupported("EXPLAIN ANALYZE over sharded tables is not supported: it would run the statement on every shard; use EXPLAIN")
	}
	prefix := "EXPLAIN "
	switch strings.ToLower(n.Format) {
	case "", "row", "traditional":
	case "json":
		prefix = "EXPLAIN FORMAT=JSON "
	default:
		return nil, notSupported("EXPLAIN FORMAT=%s over sharded tables is not supported", n.Format)
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
