package router

import (
	"errors"
	"sync"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// Prepared is what COM_STMT_PREPARE answers: the ? positions (for binding
// values into the text) and the definitions a server gives for them.
type Prepared struct {
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
	snap := s.snapshot()
	key := s.state.db + "\x00" + sql
	if p := snap.prepared.get(key); p != nil {
		return p, nil
	}
	prs := s.rt.parsers.Get().(*parser.Parser)
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
	cluster, physical, err := snap.Planner.MetadataSQL(st, s.state.db)
	if err != nil {
		return nil, err
	}
	b := snap.Clusters[cluster].Primary
	conn, err := b.Get(s.foundRows, 0)
	if err != nil {
		return nil, err
	}
	p, err := s.backendPrepare(conn, physical)
	if err != nil {
		var me *mysql.MyError
		if errors.As(err, &me) {
			b.Put(conn)
		} else {
			b.Discard(conn)
		}
		return nil, err
	}
	b.Put(conn)
	p.Offsets = offsets
	if snap.cacheable(st, s.state.db) {
		p.fast = st
	}
	if len(p.Params) != len(offsets) {
		return nil, wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: the server counts %d parameters, the proxy %d", len(p.Params), len(offsets))
	}
	snap.prepared.put(key, p)
	return p, nil
}

func (s *Session) backendPrepare(c *backend.Conn, sql string) (*Prepared, error) {
	if err := c.UseDB(s.state.db); err != nil {
		return nil, err
	}
	if err := c.Send(mysql.COM_STMT_PREPARE, []byte(sql)); err != nil {
		return nil, err
	}
	first, err := c.ReadPacket()
	if err != nil {
		return nil, err
	}
	if len(first) > 0 && first[0] == wire.HeaderERR {
		return nil, wire.ParseError(first)
	}
	if len(first) < 12 || first[0] != wire.HeaderOK {
		return nil, errors.New("malformed prepare response")
	}
	id := append([]byte(nil), first[1:5]...) // first is overwritten by the next reads
	ncols := int(first[5]) | int(first[6])<<8
	nparams := int(first[7]) | int(first[8])<<8
	p := &Prepared{}
	readDefs := func(n int) ([][]byte, error) {
		if n == 0 {
			return nil, nil
		}
		defs := make([][]byte, 0, n)
		for {
			d, err := c.ReadPacket()
			if err != nil {
				return nil, err
			}
			if wire.IsEOF(d) {
				return defs, nil
			}
			defs = append(defs, append([]byte(nil), d...))
		}
	}
	if p.Params, err = readDefs(nparams); err != nil {
		return nil, err
	}
	if p.Columns, err = readDefs(ncols); err != nil {
		return nil, err
	}
	// COM_STMT_CLOSE has no answer.
	if err := c.Send(mysql.COM_STMT_CLOSE, id); err != nil {
		return nil, err
	}
	return p, nil
}
