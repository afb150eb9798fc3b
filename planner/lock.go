package planner

import (
	"sort"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
)

// LOCK TABLES over clusters (README: LOCK TABLES). Each cluster gets one
// LOCK TABLES statement naming every physical table it holds of the
// logical tables locked: all physical tables of a sharded table (an
// hourly table's template and the buckets known now), every copy of a
// global table, a business-split table on its cluster. The session runs
// them in the order of the steps (clusters sorted by name), so two
// sessions locking the same tables wait for each other on the first
// cluster instead of each holding a part.

// lockPlan plans LOCK TABLES: one step per cluster, in cluster order.
func (pl *Planner) lockPlan(st *parser.Statement, n *ast.LockTablesStmt, f Facts) (*draft, error) {
	type item struct{ table, name, mode string }
	byCluster := map[string][]item{}
	add := func(cluster, schema, table, mode string) {
		// A table named twice stays twice: the server answers 1066 as
		// one server would.
		byCluster[cluster] = append(byCluster[cluster], item{table, parser.QuoteIdent(schema) + "." + parser.QuoteIdent(table), mode})
	}
	for i, tl := range n.TableLocks {
		schema := tl.Table.Schema.O
		if schema == "" {
			schema = f.DB
		}
		name := tl.Table.Name.O
		mode := tl.Type.String()
		if i < len(st.LockAliases) && st.LockAliases[i] != "" {
			// Later statements name the table by its alias, and the
			// proxy's rewrite keeps aliases, so each server locks its
			// table under the same alias.
			alias := st.LockAliases[i]
			if pl.sharded[schema][strings.ToLower(name)] != nil {
				// A server answers 1066 for two tables locked under one
				// alias, and a server holds several physical tables of a
				// sharded table (an hourly table at least its template
				// and a bucket).
				return nil, notSupported("LOCK TABLES of sharded table %s.%s under an alias (%s) is not supported: each server holds several of its physical tables, and one alias locks one table per server; lock it by its name", schema, name, alias)
			}
			mode = "AS " + parser.QuoteIdent(alias) + " " + mode
		}
		s := pl.rules.Schemas[schema]
		if s == nil || IsSystemSchema(schema) {
			// Not one of the proxy's schemas (resolve refused unknown
			// ones): the default cluster's server answers.
			c := pl.rules.DefaultSchema().Cluster
			if s != nil {
				c = s.Cluster
			}
			add(c, schema, name, mode)
			continue
		}
		rule := s.Table(name)
		switch t := pl.sharded[schema][strings.ToLower(name)]; {
		case t != nil:
			for _, target := range pl.allPhysical(schema, t) {
				m := mode
				if target.Table == t.TemplateTable() {
					// The template holds no rows. Locked for READ whatever
					// the client asked, so that buckets can still be
					// created LIKE it on another connection while the
					// session holds the lock (a WRITE lock would make
					// that CREATE wait for UNLOCK TABLES).
					m = ast.TableLockRead.String()
				}
				add(target.Cluster, schema, target.Table, m)
			}
		case rule != nil && rule.Global:
			for _, c := range schemaClusters(s) {
				add(c, schema, name, mode)
			}
		default:
			c := s.Cluster
			if rule != nil && rule.Cluster != "" {
				c = rule.Cluster
			}
			add(c, schema, name, mode)
		}
	}
	clusters := make([]string, 0, len(byCluster))
	for c := range byCluster {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	p := &draft{Merge: mergeAllSucceed}
	for _, c := range clusters {
		var parts, tables []string
		for _, it := range byCluster[c] {
			parts = append(parts, it.name+" "+it.mode)
			tables = append(tables, it.table)
		}
		p.Steps = append(p.Steps, step{Cluster: c, Tables: tables, SQL: "LOCK TABLES " + strings.Join(parts, ", ")})
	}
	return p, nil
}

// keysOnlyAlter reports ALTER TABLE t DISABLE KEYS / ENABLE KEYS (what
// mariadb-dump writes around a table's rows): it changes no definition,
// so an hourly table's template, which holds no rows and is locked for
// READ under LOCK TABLES, is left out of it.
func keysOnlyAlter(n *ast.AlterTableStmt) bool {
	if len(n.Specs) == 0 {
		return false
	}
	for _, s := range n.Specs {
		if s.Tp != ast.AlterTableDisableKeys && s.Tp != ast.AlterTableEnableKeys {
			return false
		}
	}
	return true
}

// withoutTemplate drops an hourly table's templates from targets.
func withoutTemplate(t *shard.Table, targets []shard.Target) []shard.Target {
	out := targets[:0:0]
	for _, target := range targets {
		if target.Table != t.TemplateTable() {
			out = append(out, target)
		}
	}
	return out
}
