package router

import (
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
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
	cluster, physical, err := snap.Planner.MetadataSQL(st, s.state.facts())
	if err != nil {
		return nil, err
	}
	b := snap.Clusters[cluster].Primary
	conn, err := b.Get(s.foundRows, 0)
	if err != nil {
		return nil, err
	}
	// The column definitions name the character set results come in: the
	// session's, so the connection carries the session's variables.
	err = conn.UseDB(s.state.db)
	if err == nil {
		err = conn.SyncVars(s.state.vars)
	}
	var params, columns [][]byte
	if err == nil {
		params, columns, err = conn.Prepare(physical)
	}
	switch engine.Classify(err) {
	case engine.FaultNone:
		b.Put(conn)
	case engine.FaultServer:
		conn.Dirty = true // its variables may be half set
		b.Put(conn)
		return nil, err
	default:
		b.Discard(conn)
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
