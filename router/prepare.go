package router

import (
	"fmt"
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/wire"
)

// Prepared is what COM_STMT_PREPARE answers: the ? positions (for binding
// values into the text) and the definitions a server gives for them.
type Prepared struct {
	// SQL is the statement's text with executable comments expanded, the
	// text the values are bound into.
	SQL     string
	Offsets []int
	Params  [][]byte // parameter definitions
	Columns [][]byte // result column definitions
	// fast is the parsed template when its routing does not depend on the
	// bound values (see cacheable); nil otherwise.
	fast *parser.Statement
}

// prepareCache remembers metadata by database and text, so clients that
// prepare the same statement on every connection cost one backend prepare.
type prepareCache struct {
	mu sync.Mutex
	m  map[string]*Prepared
}

const prepareCacheSize = 4096

func (c *prepareCache) get(k string) *Prepared {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *prepareCache) put(k string, p *Prepared) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= prepareCacheSize {
		c.m = map[string]*Prepared{} // simple and bounded: start over
	}
	c.m[k] = p
}

// Prepare answers COM_STMT_PREPARE. Statements run as text with the bound
// values in place (so an EXECUTE routes and shards exactly like a query),
// but the metadata comes from a backend preparing the statement on the
// table that stands for it, and closing it at once: backends hold no
// prepared statements for clients.
func (s *Session) Prepare(sql string) (*Prepared, error) {
	p, err := s.prepareStatement(sql)
	if err != nil {
		// SHOW WARNINGS next shows the error, as after a failed PREPARE
		// on a server (whose connection the proxy did not keep).
		s.state.diag = failedWith(err)
	}
	return p, err
}

func (s *Session) prepareStatement(sql string) (*Prepared, error) {
	if err := parser.CheckLexable(sql, s.state.textMode()); err != nil {
		return nil, err
	}
	if s.state.oracleMode() {
		return nil, errOracleMode()
	}
	snap := s.snapshot()
	if s.restricted() {
		// The metadata a backend gives would show tables the user may
		// not reach: check before the cache can answer.
		stmts, err := s.rt.parse(sql, s.state.textMode())
		if err != nil {
			return nil, err
		}
		for _, st := range stmts {
			if err := s.authorize(st); err != nil {
				return nil, err
			}
		}
	}
	key := s.state.db + "\x00" + s.state.vars["names"] + "\x00" + s.state.textMode().ParseKey() + "\x00" + sql
	if p := snap.prepared.get(key); p != nil {
		return p, nil
	}
	// The ? positions and the parse are those of the text the server runs.
	sql, err := parser.ExpandExecutableComments(sql, s.state.textMode(), snap.serverVersion())
	if err != nil {
		return nil, err
	}
	prs := s.rt.parser(s.state.textMode())
	offsets, err := prs.Placeholders(sql)
	var stmts []*parser.Statement
	if err == nil {
		stmts, err = prs.Parse(sql)
	}
	s.rt.parsers.Put(prs)
	if err != nil {
		return nil, err
	}
	st := stmts[0]
	var params, columns [][]byte
	facts := s.state.facts()
	facts.Defs = snap.Defs
	jm, err := snap.Planner.JoinMetadata(st, facts)
	switch {
	case err != nil:
		return nil, err
	case jm != nil:
		params, columns, err = s.prepareJoin(snap, jm, len(offsets))
	default:
		var cluster, physical string
		cluster, physical, err = snap.Planner.MetadataSQL(st, s.state.facts())
		if notSupportedYet(err) {
			// Derived tables over shards beside tables of another
			// cluster: described over empty temporary tables (else the
			// refusal stands).
			ps, cs, described, derr := s.prepareDerived(snap, st, len(offsets))
			switch {
			case derr != nil:
				return nil, derr
			case described:
				params, columns, err = ps, cs, nil
			default:
				return nil, err
			}
		} else if err != nil {
			return nil, err
		} else {
			params, columns, err = s.prepareOn(snap, cluster, physical)
		}
	}
	if err != nil {
		return nil, err
	}
	s.describeFieldSubqueries(snap, st, columns)
	p := &Prepared{SQL: sql, Offsets: offsets, Params: params, Columns: columns}
	f := s.state.facts()
	f.Defs = snap.Defs
	f.TempTables = s.txn.tempTables()
	if needs := snap.Planner.DefsNeeded(st, f); len(needs) > 0 {
		s.loadDefs(snap, needs, false)
	}
	// An INSERT whose ? gives the AUTO_INCREMENT column's value is planned
	// with its values: whether LAST_INSERT_ID() changes depends on them.
	if snap.cacheable(st, s.state.db) && !snap.Planner.InsertIDDependsOnValues(st, f) {
		p.fast = st
	}
	if len(p.Params) != len(offsets) {
		return nil, wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: the server counts %d parameters, the proxy %d", len(p.Params), len(offsets))
	}
	snap.prepared.put(key, p)
	return p, nil
}

// describe is a statement's metadata as one server prepares it (a part
// of a statement the proxy answers in steps: a derived table, a
// subquery).
func (s *Session) describe(snap *Snapshot, st *parser.Statement) (params, columns [][]byte, err error) {
	cluster, physical, err := snap.Planner.MetadataSQL(st, s.state.facts())
	if err != nil {
		return nil, nil, err
	}
	return s.prepareOn(snap, cluster, physical)
}

// prepareOn prepares physical on cluster's primary for its metadata.
func (s *Session) prepareOn(snap *Snapshot, cluster, physical string) (params, columns [][]byte, err error) {
	return s.prepareOnWith(snap, cluster, physical, nil, nil)
}

// prepareOnWith runs setup before the prepare and teardown after it, on
// the same connection (a temporary table the statement reads, created
// and dropped: planner.MetaPart). A connection whose teardown failed is
// not kept.
func (s *Session) prepareOnWith(snap *Snapshot, cluster, physical string, setup, teardown []string) (params, columns [][]byte, err error) {
	b := snap.Clusters[cluster].Primary
	conn, err := b.Get(s.foundRows, 0)
	if err != nil {
		return nil, nil, err
	}
	// The column definitions name the character set results come in: the
	// session's, so the connection carries the session's variables.
	err = conn.UseDB(s.state.db)
	if err == nil {
		err = conn.SyncVars(s.state.vars)
	}
	for _, q := range setup {
		if err == nil {
			_, err = conn.Exec(q)
		}
	}
	if err == nil {
		params, columns, err = conn.Prepare(physical)
	}
	if len(teardown) > 0 {
		for _, q := range teardown {
			if _, terr := conn.Exec(q); terr != nil {
				b.Discard(conn)
				if err == nil {
					err = terr
				}
				return nil, nil, err
			}
		}
	}
	switch engine.Classify(err) {
	case engine.FaultNone:
		b.Put(conn)
	case engine.FaultServer:
		conn.Dirty = true // its variables may be half set
		b.Put(conn)
		return nil, nil, err
	default:
		b.Discard(conn)
		return nil, nil, err
	}
	return params, columns, nil
}

// prepareJoin is the metadata of a statement joined in the proxy
// (planner.JoinMeta): each part prepared on its cluster, the result's
// columns taken from them. Parameters are counted from the client's text
// (a condition on no table goes to both sides); their definitions, which
// MariaDB gives alike for every ?, are a part's.
func (s *Session) prepareJoin(snap *Snapshot, jm *planner.JoinMeta, nparams int) (params, columns [][]byte, err error) {
	parts := make([][][]byte, len(jm.Parts))
	var paramDef []byte
	for i, part := range jm.Parts {
		ps, cs, err := s.prepareOnWith(snap, part.Cluster, part.SQL, part.Setup, part.Teardown)
		if err != nil {
			return nil, nil, err
		}
		parts[i] = cs
		if len(ps) > 0 && paramDef == nil {
			paramDef = ps[0]
		}
	}
	for _, c := range jm.Columns {
		if c.Part >= len(parts) || c.Index >= len(parts[c.Part]) {
			return nil, nil, fmt.Errorf("shardgate: a side of a join prepared fewer columns than the join shows")
		}
		def := parts[c.Part][c.Index]
		if col, ok := wire.ParseColumn(def); ok && c.Nullable && col.Flags&mysql.NOT_NULL_FLAG != 0 {
			col.Flags &^= mysql.NOT_NULL_FLAG
			def = wire.AppendColumn(nil, col)
		}
		columns = append(columns, def)
	}
	if nparams > 0 && paramDef == nil {
		paramDef = wire.AppendColumn(nil, wire.Column{Name: "?", Type: mysql.MYSQL_TYPE_VAR_STRING, Charset: 63})
	}
	for i := 0; i < nparams; i++ {
		params = append(params, paramDef)
	}
	return params, columns, nil
}

// prepareDerived describes a SELECT whose derived tables over shards run
// first (derivedFirst) on the cluster of its other tables, which no one
// server can prepare as written: each derived table's SELECT is described
// on its own, an empty temporary table of those columns is created where
// the statement will run (as Materialize creates it), the statement is
// prepared there over it, and the table is dropped. The answer's columns
// name the derived tables by their aliases, as the EXECUTE's do. ok is
// false when the statement is not of this kind. Parameters are counted
// from the client's text (a derived table's ? is no longer in the
// statement prepared last); their definitions, alike for every ?, are a
// server's.
func (s *Session) prepareDerived(snap *Snapshot, st *parser.Statement, nparams int) (params, columns [][]byte, ok bool, err error) {
	rw, err := s.derivedRewrite(snap, st)
	if rw == nil || err != nil {
		return nil, nil, false, err
	}
	var setup, teardown []string
	names := map[string]string{}
	renamed := map[string]string{}
	var paramDef []byte
	for _, d := range rw.Tables {
		sub, err := s.parseFresh(d.SQL)
		if err != nil {
			return nil, nil, false, err
		}
		ps, cs, err := s.describe(snap, sub)
		if err != nil {
			return nil, nil, false, err
		}
		if len(ps) > 0 && paramDef == nil {
			paramDef = ps[0]
		}
		cols := make([]wire.Column, len(cs))
		for i, def := range cs {
			if cols[i], ok = wire.ParseColumn(def); !ok {
				return nil, nil, false, fmt.Errorf("shardgate: malformed column definition describing a derived table")
			}
		}
		name := parser.QuoteIdent(rw.Schema) + "." + parser.QuoteIdent(d.Temp)
		create, err := engine.CreateTemp(engine.TempTable{Name: name, Rows: &engine.Collected{Columns: cols}, Sources: d.Columns}, renamed)
		if err != nil {
			return nil, nil, false, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: a derived table over shards cannot be copied: %v", err)
		}
		setup = append(setup, "DROP TEMPORARY TABLE IF EXISTS "+name, create)
		teardown = append(teardown, "DROP TEMPORARY TABLE IF EXISTS "+name)
		names[d.Temp] = d.Alias
	}
	ps, cs, err := s.prepareOnWith(snap, rw.Cluster, rw.SQL(), setup, teardown)
	if err != nil {
		return nil, nil, false, err
	}
	if rename := engine.TempTableColumns(names, renamed); rename != nil {
		for i, def := range cs {
			cs[i] = rename(def)
		}
	}
	if len(ps) > 0 {
		paramDef = ps[0]
	}
	if nparams > 0 && paramDef == nil {
		paramDef = wire.AppendColumn(nil, wire.Column{Name: "?", Type: mysql.MYSQL_TYPE_VAR_STRING, Charset: 63})
	}
	for i := 0; i < nparams; i++ {
		params = append(params, paramDef)
	}
	return params, cs, true, nil
}

// describeFieldSubqueries gives the columns of select-list subqueries
// that run first (planner.FieldSubqueries) the description the EXECUTE's
// result will have: each subquery is described on its own and its column
// turned into a scalar subquery's (planner.SubqueryColumn), named as the
// statement's. A subquery that cannot be described leaves its column as
// the server described the statement without it (NULL).
func (s *Session) describeFieldSubqueries(snap *Snapshot, st *parser.Statement, columns [][]byte) {
	f := s.state.facts()
	f.Defs = snap.Defs
	for _, fs := range snap.Planner.FieldSubqueries(st, f) {
		i := fs.Column
		if i < 0 {
			i += len(columns)
		}
		if i < 0 || i >= len(columns) {
			continue
		}
		_, cs, err := s.describe(snap, fs.Stmt)
		if err != nil || len(cs) != 1 {
			continue
		}
		sub, ok := wire.ParseColumn(cs[0])
		if !ok {
			continue
		}
		def, ok := planner.SubqueryColumn(sub)
		old, parsed := wire.ParseColumn(columns[i])
		if !ok || !parsed {
			continue
		}
		def.Name = old.Name
		columns[i] = wire.AppendColumn(nil, def)
	}
}
