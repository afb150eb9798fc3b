// Package backend owns the backend side: connections to MariaDB servers,
// a pool per server, and clusters of one primary with its replicas.
package backend

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/wire"
)

// backendCaps are the capabilities the proxy asks of every backend: the
// response format of wire.PassthroughCaps, which is also what clients are
// offered, so result packets can be forwarded without re-encoding; plus what
// the login needs. CLIENT_FOUND_ROWS is added per connection (DialConfig).
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
	// rowsRead paces read-deadline renewals while rows stream in.
	rowsRead uint32
	// ReservedFor keeps an idle connection for its last owner (a session
	// id; 0 for none), who may want it back for ROW_COUNT() (see
	// Pool.Reclaim) and whose state it already carries: others get it only
	// when the pool is full.
	ReservedFor uint64
	// Dirty marks state the proxy cannot describe as variables (temporary
	// tables, user variables set inside a SELECT, an open transaction left
	// by a client that vanished): the next owner gets a reset connection.
	Dirty bool
}

// Dial connects and logs in to a MariaDB server.
func Dial(addr string, cfg DialConfig) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, cfg.ConnectTimeout)
	if err != nil {
		return nil, unreachable(addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	c := &Conn{Conn: wire.NewConn(nc, 16<<10), addr: addr, foundRows: cfg.FoundRows, readTimeout: cfg.ReadTimeout, vars: map[string]string{}}
	nc.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
	if err := c.handshake(cfg); err != nil {
		nc.Close()
		var me *mysql.MyError
		if errors.As(err, &me) {
			return nil, err
		}
		return nil, unreachable(addr, err)
	}
	nc.SetDeadline(time.Time{})
	c.lastUsed = time.Now()
	return c, nil
}

func unreachable(addr string, err error) error {
	return wire.Errorf(wire.ErrBackendUnreachable, "shardgate: backend %s unreachable: %v", addr, err)
}

func (c *Conn) handshake(cfg DialConfig) error {
	p, err := c.ReadPacket()
	if err != nil {
		return err
	}
	if len(p) > 0 && p[0] == wire.HeaderERR {
		return wire.ParseError(p)
	}
	hs, err := parseServerHandshake(p)
	if err != nil {
		return err
	}
	c.ThreadID, c.Version = hs.connID, hs.version
	caps := backendCaps
	if cfg.FoundRows {
		caps |= mysql.CLIENT_FOUND_ROWS
	}
	auth := mysql.CalcPassword(hs.scramble, []byte(cfg.Password))
	resp := binary.LittleEndian.AppendUint32(nil, caps)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<30)
	resp = append(resp, DefaultCollationID)
	resp = append(resp, make([]byte, 23)...)
	resp = append(append(resp, cfg.User...), 0)
	resp = append(resp, byte(len(auth)))
	resp = append(resp, auth...)
	resp = append(append(resp, "mysql_native_password"...), 0)
	if err := c.WritePacket(resp); err != nil {
		return err
	}
	if err := c.Flush(); err != nil {
		return err
	}
	for {
		p, err = c.ReadPacket()
		if err != nil {
			return err
		}
		switch {
		case len(p) == 0:
			return errors.New("empty packet during login")
		case p[0] == wire.HeaderOK:
			return nil
		case p[0] == wire.HeaderERR:
			return wire.ParseError(p)
		case p[0] == wire.HeaderEOF: // auth switch request
			plugin, data, _ := bytes.Cut(p[1:], []byte{0})
			if string(plugin) != "mysql_native_password" {
				return fmt.Errorf("backend asks for auth plugin %q; shardgate logs in with mysql_native_password", plugin)
			}
			data = bytes.TrimSuffix(data, []byte{0})
			if err := c.WritePacket(mysql.CalcPassword(data, []byte(cfg.Password))); err != nil {
				return err
			}
			if err := c.Flush(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected packet 0x%02x during login", p[0])
		}
	}
}

type serverHandshake struct {
	version  string
	connID   uint32
	scramble []byte
}

func parseServerHandshake(p []byte) (serverHandshake, error) {
	var hs serverHandshake
	bad := errors.New("malformed server handshake")
	if len(p) < 1 || p[0] != 10 {
		return hs, bad
	}
	ver, rest, ok := bytes.Cut(p[1:], []byte{0})
	if !ok || len(rest) < 4+8+1+2+1+2+2+1+10 {
		return hs, bad
	}
	hs.version = string(ver)
	hs.connID = binary.LittleEndian.Uint32(rest)
	hs.scramble = append([]byte{}, rest[4:12]...)
	rest = rest[4+8+1+2+1+2+2:]
	authLen := int(rest[0])
	rest = rest[1+10:]
	n := max(13, authLen-8)
	if len(rest) < n {
		return hs, bad
	}
	hs.scramble = append(hs.scramble, bytes.TrimRight(rest[:n], "\x00")...)
	return hs, nil
}

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
	return c.WriteCommand(cmd, arg)
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

// Result is a small result set read whole, for the proxy's own queries.
type Result struct {
	Columns []wire.Column
	Rows    [][]*string
}

// Query runs a statement and reads its whole result. Use it only for the
// proxy's own small queries; client results are streamed with Stream.
func (c *Conn) Query(sql string) (*Result, wire.OK, error) {
	if err := c.Send(mysql.COM_QUERY, []byte(sql)); err != nil {
		return nil, wire.OK{}, err
	}
	var res Result
	ncols := -1
	sink := func(p []byte) error {
		switch {
		case len(p) == 0 || p[0] == wire.HeaderERR:
		case ncols < 0:
			if p[0] == wire.HeaderOK {
				return nil // no result set
			}
			n, _, _, _ := wire.LenEncInt(p)
			ncols = int(n)
			res.Columns = make([]wire.Column, 0, ncols)
		case len(res.Columns) < ncols:
			col, _ := wire.ParseColumn(p)
			res.Columns = append(res.Columns, col)
		case wire.IsEOF(p):
		default:
			vals, nulls, ok := wire.ParseTextRow(p, ncols)
			if !ok {
				return errors.New("malformed row")
			}
			row := make([]*string, len(vals))
			for i, v := range vals {
				if !nulls[i] {
					s := string(v)
					row[i] = &s
				}
			}
			res.Rows = append(res.Rows, row)
		}
		return nil
	}
	out, err := c.Stream(SinkFunc(sink), nil)
	if err != nil {
		return nil, out.OK, err
	}
	if out.Err != nil {
		return nil, out.OK, out.Err
	}
	return &res, out.OK, nil
}

// Exec runs a statement that returns no rows the caller needs.
func (c *Conn) Exec(sql string) (wire.OK, error) {
	_, ok, err := c.Query(sql)
	return ok, err
}

// Sink receives the packets of a result as they arrive.
type Sink interface {
	WritePacket(p []byte) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(p []byte) error

func (f SinkFunc) WritePacket(p []byte) error { return f(p) }

// Outcome is how a forwarded response ended.
type Outcome struct {
	// Status is the server status of the last OK or EOF packet.
	Status uint16
	// OK is the last OK packet, for statements that return one.
	OK wire.OK
	// Err is the server's ERR packet, already forwarded to the sink.
	Err *mysql.MyError
}

// SinkError reports that the sink (the client) failed, not the server.
type SinkError struct{ Err error }

func (e *SinkError) Error() string { return "client write failed: " + e.Err.Error() }
func (e *SinkError) Unwrap() error { return e.Err }

// Stream forwards the whole response to the command just sent, packet by
// packet, including every result of a multi-result response. It never holds
// more than one packet. A returned error means the connection is no longer
// usable (a *SinkError when the client side failed).
// columns, when not nil, may rewrite each column definition on its way.
func (c *Conn) Stream(dst Sink, columns func([]byte) []byte) (Outcome, error) {
	var out Outcome
	for {
		more, err := c.streamOne(dst, &out, columns)
		if err != nil || !more {
			return out, err
		}
	}
}

func (c *Conn) streamOne(dst Sink, out *Outcome, columns func([]byte) []byte) (more bool, err error) {
	p, err := c.ReadPacket()
	if err != nil {
		return false, err
	}
	if len(p) == 0 {
		return false, errors.New("empty packet from backend")
	}
	switch p[0] {
	case wire.HeaderOK:
		ok, good := wire.ParseOK(p)
		if !good {
			return false, errors.New("malformed OK packet from backend")
		}
		out.OK, out.Status = ok, ok.Status
		if err := dst.WritePacket(p); err != nil {
			return false, &SinkError{err}
		}
		return ok.Status&mysql.SERVER_MORE_RESULTS_EXISTS != 0, nil
	case wire.HeaderERR:
		out.Err = wire.ParseError(p)
		if err := dst.WritePacket(p); err != nil {
			return false, &SinkError{err}
		}
		return false, nil
	case wire.HeaderLocalInfile:
		return false, errors.New("backend asked for a local file; shardgate does not offer LOCAL INFILE")
	}
	// A result set: column count, column definitions, EOF, rows, EOF or ERR.
	if err := dst.WritePacket(p); err != nil {
		return false, &SinkError{err}
	}
	eofs := 0
	for rows := 0; ; rows++ {
		if rows&127 == 127 {
			c.armReadDeadline()
		}
		p, err := c.ReadPacket()
		if err != nil {
			return false, err
		}
		if eofs == 0 && columns != nil && !wire.IsEOF(p) {
			p = columns(p)
		}
		if err := dst.WritePacket(p); err != nil {
			return false, &SinkError{err}
		}
		switch {
		case len(p) > 0 && p[0] == wire.HeaderERR:
			out.Err = wire.ParseError(p)
			return false, nil
		case wire.IsEOF(p):
			eofs++
			if eofs == 2 {
				out.Status = wire.EOFStatus(p)
				return out.Status&mysql.SERVER_MORE_RESULTS_EXISTS != 0, nil
			}
		}
	}
}

// ReadHeader reads the start of a result set: the column definitions (copied)
// up to their EOF. A server error comes back as *mysql.MyError with the
// connection still usable.
func (c *Conn) ReadHeader() ([][]byte, error) {
	p, err := c.ReadPacket()
	if err != nil {
		return nil, err
	}
	switch {
	case len(p) == 0:
		return nil, errors.New("empty packet from backend")
	case p[0] == wire.HeaderERR:
		return nil, wire.ParseError(p)
	case p[0] == wire.HeaderOK:
		return nil, errors.New("statement returned no result set")
	}
	n, _, _, ok := wire.LenEncInt(p)
	if !ok {
		return nil, errors.New("malformed column count")
	}
	cols := make([][]byte, 0, n)
	for {
		p, err := c.ReadPacket()
		if err != nil {
			return nil, err
		}
		if wire.IsEOF(p) {
			if uint64(len(cols)) != n {
				return nil, fmt.Errorf("got %d column definitions, want %d", len(cols), n)
			}
			return cols, nil
		}
		cols = append(cols, append([]byte(nil), p...))
	}
}

// ReadRow reads the next row of a result set after ReadHeader. At the end it
// returns eof with the final status; a server error mid-result comes back as
// *mysql.MyError. The row is only valid until the next read.
func (c *Conn) ReadRow() (row []byte, eof bool, status uint16, err error) {
	if c.rowsRead++; c.rowsRead&127 == 0 {
		c.armReadDeadline()
	}
	p, err := c.ReadPacket()
	if err != nil {
		return nil, false, 0, err
	}
	switch {
	case len(p) > 0 && p[0] == wire.HeaderERR:
		return nil, false, 0, wire.ParseError(p)
	case wire.IsEOF(p):
		return nil, true, wire.EOFStatus(p), nil
	}
	return p, false, 0, nil
}

// Prepare asks the server for the parameter and result column definitions
// of sql (COM_STMT_PREPARE) in the connection's current database, and closes
// the server's statement at once (COM_STMT_CLOSE, which has no answer):
// backends hold no prepared statements for clients. The definitions are
// copies, in the server's encoding, ready to forward. A server error comes
// back as *mysql.MyError with the connection still usable; any other error
// means the connection must be discarded.
func (c *Conn) Prepare(sql string) (params, columns [][]byte, err error) {
	if err := c.Send(mysql.COM_STMT_PREPARE, []byte(sql)); err != nil {
		return nil, nil, err
	}
	first, err := c.ReadPacket()
	if err != nil {
		return nil, nil, err
	}
	if len(first) > 0 && first[0] == wire.HeaderERR {
		return nil, nil, wire.ParseError(first)
	}
	// OK: status 0, statement id (4), columns (2), parameters (2),
	// reserved (1), warnings (2).
	if len(first) < 12 || first[0] != wire.HeaderOK {
		return nil, nil, errors.New("malformed prepare response")
	}
	id := binary.LittleEndian.Uint32(first[1:]) // first is overwritten by the next reads
	ncols := int(binary.LittleEndian.Uint16(first[5:]))
	nparams := int(binary.LittleEndian.Uint16(first[7:]))
	if params, err = c.readDefinitions(nparams); err != nil {
		return nil, nil, err
	}
	if columns, err = c.readDefinitions(ncols); err != nil {
		return nil, nil, err
	}
	if err := c.Send(mysql.COM_STMT_CLOSE, binary.LittleEndian.AppendUint32(nil, id)); err != nil {
		return nil, nil, err
	}
	return params, columns, nil
}

// readDefinitions reads n column or parameter definitions and the EOF after
// them (none at all when n is 0).
func (c *Conn) readDefinitions(n int) ([][]byte, error) {
	if n == 0 {
		return nil, nil
	}
	defs := make([][]byte, 0, n)
	for {
		p, err := c.ReadPacket()
		if err != nil {
			return nil, err
		}
		switch {
		case wire.IsEOF(p):
			if len(defs) != n {
				return nil, fmt.Errorf("prepare response has %d definitions, announced %d", len(defs), n)
			}
			return defs, nil
		case len(p) > 0 && p[0] == wire.HeaderERR:
			// Not a *mysql.MyError: the server's statement may be left
			// open, so the connection is not to be reused.
			return nil, fmt.Errorf("error inside a prepare response: %v", wire.ParseError(p))
		case len(defs) == n:
			return nil, fmt.Errorf("prepare response has more definitions than the %d announced", n)
		}
		defs = append(defs, append([]byte(nil), p...))
	}
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
	if c.vars["names"] != want["names"] {
		v := want["names"]
		if v == "" {
			v = DefaultNames
		}
		sets = append(sets, "NAMES "+v)
	}
	for _, k := range sortedKeys(c.vars) {
		if _, keep := want[k]; !keep && k != "names" {
			if strings.HasPrefix(k, "@") {
				sets = append(sets, varName(k)+" = NULL")
			} else {
				sets = append(sets, varName(k)+" = DEFAULT")
			}
		}
	}
	for _, k := range sortedKeys(want) {
		if k != "names" && c.vars[k] != want[k] {
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
