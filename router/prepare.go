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
		if cluster, physical, err = snap.Planner.MetadataSQL(st, s.state.facts()); err != nil {
			return nil, err
		}
		params, columns, err = s.prepareOn(snap, cluster, physical)
	}
	if err != nil {
		return nil, err
	}
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
