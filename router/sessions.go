package router

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/rules"
	"github.com/shardgate/shardgate/wire"
)

// The proxy owns the connection-id space: CONNECTION_ID() answers the id of
// the client's connection to the proxy (the one its greeting gave), KILL
// and COM_PROCESS_KILL act on proxy sessions wherever their statements run,
// and SHOW PROCESSLIST lists proxy sessions.

// registry knows the live sessions by their client connection id.
type registry struct {
	mu sync.Mutex
	m  map[uint32]*Session
}

func (r *registry) add(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[uint32]*Session{}
	}
	r.m[s.client.ID] = s
}

func (r *registry) remove(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[s.client.ID] == s {
		delete(r.m, s.client.ID)
	}
}

func (r *registry) get(id uint32) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[id]
}

func (r *registry) list() []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Session, 0, len(r.m))
	for _, s := range r.m {
		out = append(out, s)
	}
	return out
}

// Client describes the client side of a session.
type Client struct {
	// ID is the connection id the greeting gave the client.
	ID   uint32
	User string
	Host string
	// Account is the user's rules entry: what the session may reach and
	// do. nil: no limits (the proxy's own sessions, tests).
	Account *rules.User
	// Close closes the client's connection (KILL CONNECTION).
	Close func()
}

// live is what other sessions may read of this one: what it is doing and
// the backend connections its statement is using.
type live struct {
	mu      sync.Mutex
	command string
	info    string
	since   time.Time
	running map[*held]bool
	// db and txn are the session's database and whether a transaction is
	// open, as of its last command (SHOW SHARDGATE SESSIONS).
	db  string
	txn bool
	// clusters are those the current command ran on (the slow log).
	clusters []string
	// interrupted: KILL QUERY arrived while the statement had not reached
	// a backend yet; its next backend step is refused.
	interrupted bool
}

// set starts a new command (or "Sleep" between commands).
func (l *live) set(command, info string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.command, l.info, l.since, l.interrupted = command, info, time.Now(), false
	l.clusters = l.clusters[:0]
}

// clustersUsed lists the clusters the command has run on so far.
func (l *live) clustersUsed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.clusters)
}

// start records that the statement now runs on h, unless it was killed.
func (l *live) start(h *held) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.interrupted {
		return wire.Errorf(mysql.ER_QUERY_INTERRUPTED, "Query execution was interrupted")
	}
	if l.running == nil {
		l.running = map[*held]bool{}
	}
	l.running[h] = true
	if c := h.cluster(); !slices.Contains(l.clusters, c) {
		l.clusters = append(l.clusters, c)
	}
	return nil
}

// stop records that the statement is done with h.
func (l *live) stop(h *held) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.running, h)
}

// interrupt marks the running command killed and lists the backend
// connections it is using, with the command's start as its identity.
func (l *live) interrupt() ([]*held, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.command != "Sleep" {
		l.interrupted = true
	}
	out := make([]*held, 0, len(l.running))
	for h := range l.running {
		out = append(out, h)
	}
	return out, l.since
}

// stillRunning reports whether the command that started at since still
// uses h.
func (l *live) stillRunning(h *held, since time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.since.Equal(since) && l.running[h]
}

// Identify registers the session under its client's connection id.
func (s *Session) Identify(c Client) {
	s.client = c
	s.live.set("Sleep", "")
	s.rt.sessions.add(s)
}

// ConnectionID is the client's connection id.
func (s *Session) ConnectionID() uint32 { return s.client.ID }

// Kill is KILL [CONNECTION|QUERY] id and COM_PROCESS_KILL: the target
// session's running backend statements are stopped, and for CONNECTION its
// client connection is closed. A client may kill only its own user's
// sessions.
func (s *Session) Kill(id uint64, queryOnly bool) error {
	target := s.rt.sessions.get(uint32(id))
	if id > uint64(^uint32(0)) || target == nil {
		return wire.Errorf(mysql.ER_NO_SUCH_THREAD, "Unknown thread id: %d", id)
	}
	if target.client.User != s.client.User {
		return wire.Errorf(mysql.ER_KILL_DENIED_ERROR, "You are not owner of thread %d", id)
	}
	running, since := target.live.interrupt()
	for _, h := range running {
		// KILL QUERY stops what the connection is running now; a statement
		// that was about to be sent when it arrived is caught by a repeat.
		for try := 0; try < 20; try++ {
			h.backend.KillQuery(h.ThreadID)
			time.Sleep(10 * time.Millisecond)
			if !target.live.stillRunning(h, since) {
				break
			}
			time.Sleep(40 * time.Millisecond)
			if !target.live.stillRunning(h, since) {
				break
			}
		}
	}
	if !queryOnly && target != s && target.client.Close != nil {
		target.client.Close()
	}
	return nil
}

// kill runs a KILL statement.
func (s *Session) kill(n *ast.KillStmt, w ResultWriter) error {
	if n.Expr != nil {
		return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: KILL takes a connection id")
	}
	if err := s.Kill(n.ConnectionID, n.Query); err != nil {
		return err
	}
	if !n.Query && uint32(n.ConnectionID) == s.client.ID && s.client.Close != nil {
		// Killing one's own connection ends it, as on a server: no answer.
		s.client.Close()
		return &ClientGoneError{Err: errors.New("connection killed by its own KILL")}
	}
	return s.writeOK(w, wire.OK{})
}

// peer is what the process list shows of one session.
type peer struct {
	id                            uint32
	user, host, db, command, info string
	since                         time.Time
}

// peers lists the sessions of the client's user, as SHOW PROCESSLIST and
// information_schema.PROCESSLIST show them. Another session's database is
// its own goroutine's to read, so only this session's is given.
func (s *Session) peers() []peer {
	var out []peer
	for _, o := range s.rt.sessions.list() {
		if o.client.User != s.client.User {
			continue
		}
		o.live.mu.Lock()
		p := peer{id: o.client.ID, user: o.client.User, host: o.client.Host, command: o.live.command, info: o.live.info, since: o.live.since}
		o.live.mu.Unlock()
		if o == s {
			p.db = s.state.db
		}
		out = append(out, p)
	}
	return out
}

// showProcessList answers SHOW [FULL] PROCESSLIST with the proxy sessions of
// the client's user.
func (s *Session) showProcessList(full bool, w ResultWriter) error {
	names := []string{"Id", "User", "Host", "db", "Command", "Time", "State", "Info"}
	cols := make([]wire.Column, len(names))
	for i, n := range names {
		cols[i] = wire.Column{Table: "PROCESSLIST", OrgTable: "PROCESSLIST", Name: n, OrgName: n, Charset: 33, Length: 1024, Type: mysql.MYSQL_TYPE_VAR_STRING}
	}
	cols[0].Type, cols[5].Type = mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_LONG
	var rows [][][]byte
	for _, o := range s.peers() {
		info := o.info
		if !full && len(info) > 100 {
			info = info[:100]
		}
		var infoVal, db []byte
		if info != "" {
			infoVal = []byte(info)
		}
		if o.db != "" {
			db = []byte(o.db)
		}
		rows = append(rows, [][]byte{
			[]byte(strconv.FormatUint(uint64(o.id), 10)), []byte(o.user), []byte(o.host), db,
			[]byte(o.command), []byte(strconv.Itoa(int(time.Since(o.since).Seconds()))), nil, infoVal,
		})
	}
	return engine.WriteTable(w, cols, rows, s.Status())
}

// processListBody is information_schema.PROCESSLIST as the user's proxy
// sessions: literal rows, with the columns MariaDB's table has, that a
// backend evaluates the client's statement over (WHERE, ORDER BY,
// aggregates and all) as a common table expression.
func (s *Session) processListBody() string {
	var rows []string
	for _, o := range s.peers() {
		db, infoSQL := "NULL", "NULL"
		if o.db != "" {
			db = parser.QuoteString(o.db)
		}
		if o.info != "" {
			infoSQL = parser.QuoteString(o.info)
		}
		ms := time.Since(o.since).Milliseconds()
		rows = append(rows, fmt.Sprintf("SELECT %d AS ID, %s AS USER, %s AS HOST, %s AS DB, %s AS COMMAND, %d AS TIME, '' AS STATE, %s AS INFO, %d.000 AS TIME_MS, 0 AS STAGE, 0 AS MAX_STAGE, 0.000 AS PROGRESS, 0 AS MEMORY_USED, 0 AS MAX_MEMORY_USED, 0 AS EXAMINED_ROWS, 0 AS QUERY_ID, NULL AS INFO_BINARY, 0 AS TID",
			o.id, parser.QuoteString(o.user), parser.QuoteString(o.host), db, parser.QuoteString(o.command), ms/1000, infoSQL, ms))
	}
	return strings.Join(rows, " UNION ALL ")
}
