// Package backend owns the backend side: connections to MariaDB servers,
// a pool per server, and clusters of one primary with its replicas.
package backend

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// backendCaps are the capabilities the proxy asks of every backend: the
// response format of wire.PassthroughCaps, which is also what clients are
// offered, so result packets can be forwarded without re-encoding; plus what
// the login needs. CLIENT_FOUND_ROWS is added per connection (DialConfig).
// (PassthroughCaps' CLIENT_LOCAL_FILES lets a backend ask for a LOAD DATA
// LOCAL file, which only RelayLocalFile answers, with the client's file.)
const backendCaps = wire.PassthroughCaps | mysql.CLIENT_LONG_PASSWORD | mysql.CLIENT_SECURE_CONNECTION |
	mysql.CLIENT_PLUGIN_AUTH

// DefaultCollationID is the collation every backend connection starts with
// (utf8mb4_general_ci); sessions that want another one get SET NAMES.
const DefaultCollationID = 45

// DefaultNames is the SET NAMES value matching DefaultCollationID.
const DefaultNames = "'utf8mb4' COLLATE 'utf8mb4_general_ci'"

// unknownDB marks a connection whose current database is not known, e.g.
// after COM_RESET_CONNECTION, so the next user always sends COM_INIT_DB.
const unknownDB = "\x00unknown"

// DialConfig is what a backend connection needs to log in.
type DialConfig struct {
	User, Password string
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	FoundRows      bool
}

// Conn is one logged-in connection to a MariaDB server.
type Conn struct {
	*wire.Conn
	// ThreadID is the server's connection id, used to KILL a runaway query.
	ThreadID  uint32
	Version   string
	foundRows bool
	addr      string

	db          string
	vars        map[string]string
	readTimeout time.Duration
	lastUsed    time.Time
	// uses counts commands sent; Reclaim checks it to know a connection
	// has not served anyone else since.
	uses uint64
	// epoch is the pool's purge count when the connection was dialled.
	epoch uint64
	// rowsRead paces read-deadline renewals while rows stream in.
	rowsRead uint32
	// warnings is the warning count of the last result read row by row.
	warnings uint16
	// ReservedFor keeps an idle connection for its last owner (a session
	// id; 0 for none), who may want it back for ROW_COUNT() (see
	// Pool.Reclaim) and whose state it already carries: others get it only
	// when the pool is full.
	ReservedFor uint64
	// Dirty marks state the proxy cannot describe as variables (temporary
	// tables, user variables set inside a SELECT, an open transaction left
	// by a client that vanished): the next owner gets a reset connection.
	Dirty bool

	// prev, next and listed link a borrowed connection into its pool's
	// borrowed list; the pool's mu guards them.
	prev, next *Conn
	listed     bool
	// state says whether the connection is lent, idle in its pool or
	// closed by it (under the pool's mu): a Put or Discard of one not lent
	// is a second return (Pool.misreturned).
	state connState
	// cut is set, once, when Pool.Cut closed the connection because its
	// server left rotation; reads failing after it say so.
	cut atomic.Pointer[LeftRotationError]
}

type connState uint8

const (
	connLent connState = iota // borrowed (or being dialled)
	connIdle                  // in the pool's idle list
	connGone                  // closed by the pool, its slot freed
)

// ReadPacket reads the next packet from the server. A failure on a
// connection the pool cut is a *LeftRotationError: the statement did not
// break by itself, the proxy stopped it.
func (c *Conn) ReadPacket() ([]byte, error) {
	p, err := c.Conn.ReadPacket()
	if err != nil {
		return nil, c.cutError(err)
	}
	return p, nil
}

// cutError is err, or the LeftRotationError it means when the connection
// was cut.
func (c *Conn) cutError(err error) error {
	if why := c.cut.Load(); why != nil && !IsLeftRotation(err) {
		e := *why
		e.Err = err
		return &e
	}
	return err
}

// LeftRotation is why the pool cut the connection, nil when it did not.
func (c *Conn) LeftRotation() *LeftRotationError { return c.cut.Load() }

// armReadDeadline bounds the wait for the next packet from the server, so a
// frozen server never hangs a client.
func (c *Conn) armReadDeadline() {
	if c.readTimeout > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.readTimeout))
	}
}

// Send starts a command; the caller reads the response.
func (c *Conn) Send(cmd byte, arg []byte) error {
	c.armReadDeadline()
	c.lastUsed = time.Now()
	c.uses++
	if err := c.WriteCommand(cmd, arg); err != nil {
		return &notSentError{c.cutError(err)}
	}
	return nil
}

// SendQuery sends COM_QUERY with sql, as Send does.
func (c *Conn) SendQuery(sql string) error {
	c.armReadDeadline()
	c.lastUsed = time.Now()
	c.uses++
	if err := c.WriteCommandString(mysql.COM_QUERY, sql); err != nil {
		return &notSentError{c.cutError(err)}
	}
	return nil
}

// Ping checks the connection is alive.
func (c *Conn) Ping() error {
	if err := c.Send(mysql.COM_PING, nil); err != nil {
		return err
	}
	_, err := c.readOK()
	return err
}

func (c *Conn) readOK() (wire.OK, error) {
	p, err := c.ReadPacket()
	if err != nil {
		return wire.OK{}, err
	}
	if len(p) > 0 && p[0] == wire.HeaderERR {
		return wire.OK{}, wire.ParseError(p)
	}
	ok, good := wire.ParseOK(p)
	if !good {
		return ok, fmt.Errorf("expected OK packet, got 0x%x", p[:min(len(p), 1)])
	}
	return ok, nil
}

// UseDB makes db the connection's current database.
func (c *Conn) UseDB(db string) error {
	if c.db == db {
		return nil
	}
	if db == "" {
		// MySQL has no way back to "no database"; a fresh state is the
		// only honest answer, so reset the connection.
		if err := c.Reset(); err != nil {
			return err
		}
		c.db = ""
		return nil
	}
	if err := c.Send(mysql.COM_INIT_DB, []byte(db)); err != nil {
		return err
	}
	if _, err := c.readOK(); err != nil {
		return err
	}
	c.db = db
	return nil
}

// DB is the connection's current database as far as the proxy knows.
func (c *Conn) DB() string { return c.db }

// NoteDB records a database change made by a statement the client sent.
func (c *Conn) NoteDB(db string) { c.db = db }

// Reset returns the connection to the state right after login
// (COM_RESET_CONNECTION): no variables, no temporary tables, no transaction.
func (c *Conn) Reset() error {
	if err := c.Send(mysql.COM_RESET_CONNECTION, nil); err != nil {
		return err
	}
	if _, err := c.readOK(); err != nil {
		return err
	}
	// MariaDB resets the character set to the handshake's, and the
	// current database may or may not survive: do not guess.
	c.vars = map[string]string{}
	c.db = unknownDB
	c.Dirty = false
	return nil
}

// SyncVars makes the connection's session variables equal want, sending one
// SET for the differences (none when they already match). Keys are "names",
// "@user_var" or a lower-case system variable; values are SQL literals the
// proxy produced (see parser.ColumnValueLiteral). Variable names come from
// client statements, so they are quoted as identifiers: a user variable
// named `a = 1, @@global.x` stays one name.
func (c *Conn) SyncVars(want map[string]string) error {
	var sets []string
	// SET NAMES sets the four variables below; one of them set apart from
	// NAMES (SET collation_connection = …) goes back to what NAMES gives,
	// not to the server's DEFAULT: a stale one is undone by sending NAMES
	// again, and the wanted ones follow it. (SET NAMES gbk; SET
	// collation_connection = gbk_bin; SET NAMES gbk left utf8mb4_general_ci
	// through the proxy: main/ctype_gbk.test.)
	names := c.vars["names"] != want["names"]
	for _, k := range namesVars() {
		if c.vars[k] != want[k] {
			names = true
		}
	}
	have := c.vars
	if names {
		v := want["names"]
		if v == "" {
			v = DefaultNames
		}
		sets = append(sets, "NAMES "+v)
		have = make(map[string]string, len(c.vars))
		for k, v := range c.vars {
			if !slices.Contains(namesVars(), k) {
				have[k] = v
			}
		}
	}
	for _, k := range sortedKeys(have) {
		if _, keep := want[k]; !keep && k != "names" {
			switch login, noDefault := loginValue(k); {
			case strings.HasPrefix(k, "@"):
				sets = append(sets, varName(k)+" = NULL")
			case !noDefault:
				sets = append(sets, varName(k)+" = DEFAULT")
			case login != "":
				sets = append(sets, varName(k)+" = "+login)
			}
		}
	}
	for _, k := range sortedKeys(want) {
		if k != "names" && have[k] != want[k] {
			sets = append(sets, varName(k)+" = "+want[k])
		}
	}
	if len(sets) == 0 {
		return nil
	}
	if _, err := c.Exec("SET " + strings.Join(sets, ", ")); err != nil {
		return err
	}
	c.vars = make(map[string]string, len(want))
	for k, v := range want {
		c.vars[k] = v
	}
	return nil
}

// namesVars are the session variables SET NAMES sets.
func namesVars() []string {
	return []string{"character_set_client", "character_set_connection", "character_set_results", "collation_connection"}
}

// loginValue tells of the session variables that MariaDB refuses to set
// to DEFAULT (1230) what a new connection has instead; "" when there is no
// value to go back to. rand_seed1/rand_seed2 only seed the connection's
// random generator (they always read 0): one client's SET of them made the
// next client of the connection fail with 1230 on an unrelated statement
// (main/func_math.test, then func_time.test, through the proxy). The seeds
// are left as they are: no SET can restore the generator's state, which
// a pooled connection's clients share in any case.
func loginValue(k string) (login string, noDefault bool) {
	switch k {
	case "last_insert_id", "identity":
		return "0", true
	case "rand_seed1", "rand_seed2":
		return "", true
	}
	return "", false
}

// NoteVars records variables set by a statement the client sent, so that the
// connection's recorded state stays true.
func (c *Conn) NoteVars(set map[string]string) {
	for k, v := range set {
		c.vars[k] = v
	}
}

// varName is the SQL name of a SyncVars key: @`user_var` or
// @@session.`system_var`.
func varName(k string) string {
	if name, ok := strings.CutPrefix(k, "@"); ok {
		return "@" + parser.QuoteIdent(name)
	}
	return "@@session." + parser.QuoteIdent(k)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Uses is the number of commands sent so far.
func (c *Conn) Uses() uint64 { return c.uses }

// Addr is the server's address.
func (c *Conn) Addr() string { return c.addr }

// StreamFieldList forwards a COM_FIELD_LIST response: column definitions up to
// an EOF, or an ERR.
func (c *Conn) StreamFieldList(dst Sink) (Outcome, error) {
	var out Outcome
	for {
		p, err := c.ReadPacket()
		if err != nil {
			return out, err
		}
		if err := dst.WritePacket(p); err != nil {
			return out, &SinkError{err}
		}
		switch {
		case len(p) > 0 && p[0] == wire.HeaderERR:
			out.Err = wire.ParseError(p)
			return out, nil
		case wire.IsEOF(p):
			out.Status = wire.EOFStatus(p)
			return out, nil
		}
	}
}
