package xa

import (
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// A fake of the part of MariaDB the coordinator uses: XA branches with
// their states and the connection each is attached to, XA RECOVER, and the
// decision log's two tables. Faults are injected per statement.

type branchState int

const (
	stActive branchState = iota
	stIdle
	stPrepared
	stRollbackOnly
)

type fakeBranch struct {
	state branchState
	owner *fakeConn // nil: detached (prepared, its connection gone)
}

// world is every fake server, under one lock.
type world struct {
	mu       sync.Mutex
	servers  map[string]*fakeServer
	log      map[string]string // gtrid → decision
	logRows  []string          // gtrids in insert order
	inst     map[string]fakeInstance
	now      func() time.Time
	statemts []string // every statement, "cluster: sql"
	// onRecover runs after each XA RECOVER (with the world locked).
	onRecover func()
}

type fakeInstance struct {
	epoch     int64
	heartbeat time.Time
}

type fakeServer struct {
	name     string
	down     bool
	branches map[XID]*fakeBranch
	// committed/rolled back branches, in order
	committed, rolledBack []XID
	// faults: statement prefix → what happens, consumed in order
	faults map[string][]fault
}

// fault is an injected failure of a statement: the server's error, or a
// broken connection before or after the statement ran.
type fault struct {
	server *mysql.MyError
	// breakAfter: the statement runs, then the connection breaks.
	breakAfter bool
	// breakBefore: the connection breaks, the statement never runs.
	breakBefore bool
}

func newWorld(clusters ...string) *world {
	w := &world{servers: map[string]*fakeServer{}, log: map[string]string{}, inst: map[string]fakeInstance{}, now: time.Now}
	for _, c := range clusters {
		w.servers[c] = &fakeServer{name: c, branches: map[XID]*fakeBranch{}, faults: map[string][]fault{}}
	}
	return w
}

// inject makes the next statement on cluster starting with prefix fail.
func (w *world) inject(cluster, prefix string, f fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.servers[cluster]
	s.faults[prefix] = append(s.faults[prefix], f)
}

func (w *world) setDown(cluster string, down bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.servers[cluster].down = down
}

// Primaries.
func (w *world) Get(cluster string) (Conn, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.servers[cluster]
	if fs := s.faults["__down_on_get"]; len(fs) > 0 {
		s.down = true
		delete(s.faults, "__down_on_get")
	}
	if s == nil || s.down {
		return nil, &backend.UnreachableError{Addr: cluster, Err: errors.New("connection refused")}
	}
	return &fakeConn{w: w, s: s}, nil
}

func (w *world) Put(cluster string, c Conn, broken bool) {
	if broken {
		c.(*fakeConn).close()
	}
}

func (w *world) Clusters() []string {
	var out []string
	for n := range w.servers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// session opens a branch as a session would: XA START on a new connection.
func (w *world) session(t *testing.T, tx *Txn, cluster string) Branch {
	t.Helper()
	c, err := w.Get(cluster)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec("XA START " + tx.XID(cluster).SQL()); err != nil {
		t.Fatal(err)
	}
	tx.Started(cluster)
	fc := c.(*fakeConn)
	return Branch{Cluster: cluster, Server: "primary " + cluster, Conn: c, Drop: fc.close}
}

// outcome is how every branch of gtrid ended: "committed", "rolled back",
// "prepared" (in doubt), "active", or "mixed" with details.
func (w *world) outcome(g string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var states []string
	for _, name := range sortedServers(w.servers) {
		s := w.servers[name]
		st := ""
		for x, b := range s.branches {
			if x.Gtrid == g {
				st = [...]string{"active", "idle", "prepared", "rollback only"}[b.state]
			}
		}
		for _, x := range s.committed {
			if x.Gtrid == g {
				st = "committed"
			}
		}
		for _, x := range s.rolledBack {
			if x.Gtrid == g {
				st = "rolled back"
			}
		}
		if st != "" {
			states = append(states, name+"="+st)
		}
	}
	same := len(states) > 0
	for _, s := range states {
		if s[strings.Index(s, "=")+1:] != states[0][strings.Index(states[0], "=")+1:] {
			same = false
		}
	}
	if same {
		return states[0][strings.Index(states[0], "=")+1:]
	}
	return "mixed: " + strings.Join(states, ", ")
}

func sortedServers(m map[string]*fakeServer) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

type fakeConn struct {
	w      *world
	s      *fakeServer
	closed bool
}

func (c *fakeConn) close() {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.closeLocked()
}

// closeLocked is a disconnect: a branch that is not prepared rolls back, a
// prepared one detaches.
func (c *fakeConn) closeLocked() {
	if c.closed {
		return
	}
	c.closed = true
	for x, b := range c.s.branches {
		if b.owner != c {
			continue
		}
		if b.state == stPrepared {
			b.owner = nil
			continue
		}
		delete(c.s.branches, x)
		c.s.rolledBack = append(c.s.rolledBack, x)
	}
}

var xidRE = regexp.MustCompile(`X'([0-9a-f]*)',X'([0-9a-f]*)',(\d+)`)

func parseXID(sql string) XID {
	m := xidRE.FindStringSubmatch(sql)
	if m == nil {
		return XID{}
	}
	g, _ := hex.DecodeString(m[1])
	b, _ := hex.DecodeString(m[2])
	return XID{string(g), string(b)}
}

var hexRE = regexp.MustCompile(`X'([0-9a-f]*)'`)

func hexArgs(sql string) []string {
	var out []string
	for _, m := range hexRE.FindAllStringSubmatch(sql, -1) {
		b, _ := hex.DecodeString(m[1])
		out = append(out, string(b))
	}
	return out
}

var errBroken = errors.New("EOF")

func xaErr(code uint16, msg string) *mysql.MyError { return wire.Errorf(code, "%s", msg) }

func (c *fakeConn) Exec(sql string) (wire.OK, error) {
	_, ok, err := c.Query(sql)
	return ok, err
}

func (c *fakeConn) Query(sql string) (*backend.Result, wire.OK, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.closed {
		return nil, wire.OK{}, errors.New("use of closed connection")
	}
	if c.s.down {
		c.closeLocked()
		return nil, wire.OK{}, errBroken
	}
	c.w.statemts = append(c.w.statemts, c.s.name+": "+sql)
	var f *fault
	for prefix, fs := range c.s.faults {
		if strings.HasPrefix(sql, prefix) && len(fs) > 0 {
			f = &fs[0]
			c.s.faults[prefix] = fs[1:]
			break
		}
	}
	if f != nil {
		switch {
		case f.server != nil:
			if f.server.Code == mysql.ER_LOCK_DEADLOCK || f.server.Code == mysql.ER_XA_RBDEADLOCK {
				// The branch is rolled back and marked rollback-only.
				for _, b := range c.s.branches {
					if b.owner == c {
						b.state = stRollbackOnly
					}
				}
			}
			return nil, wire.OK{}, f.server
		case f.breakBefore:
			c.closeLocked()
			return nil, wire.OK{}, errBroken
		}
	}
	res, err := c.run(sql)
	if f != nil && f.breakAfter {
		c.closeLocked()
		return nil, wire.OK{}, errBroken
	}
	return res, wire.OK{}, err
}

func (c *fakeConn) run(sql string) (*backend.Result, error) {
	s := c.s
	x := parseXID(sql)
	b := s.branches[x]
	attached := b != nil && b.owner == c
	switch {
	case strings.HasPrefix(sql, "XA START"):
		for _, ob := range s.branches {
			if ob.owner == c {
				return nil, xaErr(mysql.ER_XAER_RMFAIL, "XAER_RMFAIL")
			}
		}
		if b != nil {
			return nil, xaErr(mysql.ER_XAER_DUPID, "XAER_DUPID")
		}
		s.branches[x] = &fakeBranch{state: stActive, owner: c}
	case strings.HasPrefix(sql, "XA END"):
		if !attached {
			return nil, xaErr(mysql.ER_XAER_NOTA, "XAER_NOTA: Unknown XID")
		}
		if b.state != stActive {
			return nil, xaErr(mysql.ER_XAER_RMFAIL, "XAER_RMFAIL: not ACTIVE")
		}
		b.state = stIdle
	case strings.HasPrefix(sql, "XA PREPARE"):
		if !attached {
			return nil, xaErr(mysql.ER_XAER_NOTA, "XAER_NOTA: Unknown XID")
		}
		if b.state != stIdle {
			return nil, xaErr(mysql.ER_XAER_RMFAIL, "XAER_RMFAIL: not IDLE")
		}
		b.state = stPrepared
	case strings.HasPrefix(sql, "XA COMMIT"):
		onePhase := strings.HasSuffix(sql, "ONE PHASE")
		if b == nil || (b.owner != nil && b.owner != c) {
			return nil, xaErr(mysql.ER_XAER_NOTA, "XAER_NOTA: Unknown XID")
		}
		if onePhase && b.state != stIdle || !onePhase && b.state != stPrepared {
			return nil, xaErr(mysql.ER_XAER_RMFAIL, "XAER_RMFAIL: wrong state")
		}
		delete(s.branches, x)
		s.committed = append(s.committed, x)
	case strings.HasPrefix(sql, "XA ROLLBACK"):
		if b == nil || (b.owner != nil && b.owner != c) {
			return nil, xaErr(mysql.ER_XAER_NOTA, "XAER_NOTA: Unknown XID")
		}
		if b.state == stActive {
			return nil, xaErr(mysql.ER_XAER_RMFAIL, "XAER_RMFAIL: ACTIVE")
		}
		delete(s.branches, x)
		s.rolledBack = append(s.rolledBack, x)
	case sql == "XA RECOVER":
		res := &backend.Result{}
		var xs []XID
		for x, b := range s.branches {
			if b.state == stPrepared {
				xs = append(xs, x)
			}
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i].String() < xs[j].String() })
		for _, x := range xs {
			res.Rows = append(res.Rows, strs(strconv.Itoa(FormatID), strconv.Itoa(len(x.Gtrid)), strconv.Itoa(len(x.Bqual)), x.Gtrid+x.Bqual))
		}
		// Another application's prepared transaction, which recovery must
		// leave alone.
		res.Rows = append(res.Rows, strs("1", "5", "0", "other"))
		if c.w.onRecover != nil {
			c.w.onRecover()
		}
		return res, nil
	case strings.HasPrefix(sql, "INSERT INTO `") && strings.Contains(sql, "xa_log"):
		args := hexArgs(sql)
		g := args[0]
		if _, dup := c.w.log[g]; dup {
			return nil, xaErr(mysql.ER_DUP_ENTRY, "Duplicate entry for key 'PRIMARY'")
		}
		decision := decisionCommit
		if strings.Contains(sql, "'abort'") {
			decision = decisionAbort
		}
		c.w.log[g] = decision
		c.w.logRows = append(c.w.logRows, g)
	case strings.HasPrefix(sql, "SELECT decision"):
		res := &backend.Result{}
		if d, ok := c.w.log[hexArgs(sql)[0]]; ok {
			res.Rows = append(res.Rows, strs(d))
		}
		return res, nil
	case strings.Contains(sql, "xa_instances") && strings.HasPrefix(sql, "INSERT"):
		args := hexArgs(sql)
		var epoch int64
		fmt.Sscanf(sql[strings.Index(sql, "VALUES")+len("VALUES (")+len(hexLiteral(args[0]))+2:], "%d", &epoch)
		old, ok := c.w.inst[args[0]]
		switch {
		case !ok || epoch > old.epoch:
			c.w.inst[args[0]] = fakeInstance{epoch: epoch, heartbeat: c.w.now()}
		case epoch == old.epoch:
			old.heartbeat = c.w.now()
			c.w.inst[args[0]] = old
		}
	case strings.HasPrefix(sql, "SELECT instance, epoch"):
		res := &backend.Result{}
		for name, in := range c.w.inst {
			res.Rows = append(res.Rows, strs(name, strconv.FormatInt(in.epoch, 10), strconv.FormatInt(c.w.now().Sub(in.heartbeat).Microseconds(), 10)))
		}
		return res, nil
	case strings.HasPrefix(sql, "CREATE"), strings.HasPrefix(sql, "DELETE"):
	case sql == "COMMIT", sql == "ROLLBACK":
	default:
		return nil, xaErr(mysql.ER_PARSE_ERROR, "fake: unknown statement "+sql)
	}
	return &backend.Result{}, nil
}

func strs(vs ...string) []*string {
	out := make([]*string, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}
