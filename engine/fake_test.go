package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// This file holds the test doubles every primitive's tests use: a fake
// Cursor that records what the primitives do with connections, fake Conns
// that serve canned response packets per SQL text, a recording
// ResultWriter and a decoder for what the client got.

// NULL stands for SQL NULL in row() and in decoded results.
const NULL = "<NULL>"

// Short names for column types.
const (
	tString  = mysql.MYSQL_TYPE_VAR_STRING
	tLong    = mysql.MYSQL_TYPE_LONGLONG
	tInt     = mysql.MYSQL_TYPE_LONG
	tDecimal = mysql.MYSQL_TYPE_NEWDECIMAL
	tDouble  = mysql.MYSQL_TYPE_DOUBLE
	tTime    = mysql.MYSQL_TYPE_TIME
	tDate    = mysql.MYSQL_TYPE_DATETIME
)

// cols builds column definitions: a string starts a column with that name
// (type VAR_STRING), a byte sets the last column's type, an int its
// decimals. cols("name", tString, "s", tDecimal, 2).
func cols(args ...any) []wire.Column {
	var out []wire.Column
	for _, a := range args {
		switch a := a.(type) {
		case string:
			out = append(out, wire.Column{Schema: "db", Table: "t", OrgTable: "t", Name: a, OrgName: a, Charset: 45, Length: 255, Type: tString})
		case byte:
			out[len(out)-1].Type = a
		case int:
			out[len(out)-1].Decimals = byte(a)
		case wire.Column:
			out = append(out, a)
		default:
			panic(fmt.Sprintf("cols: unexpected %T", a))
		}
	}
	return out
}

// vals is one row of values; nil is NULL.
type vals [][]byte

// row builds a row: strings (NULL or nil for SQL NULL), ints, []byte.
func row(vs ...any) vals {
	out := make(vals, len(vs))
	for i, v := range vs {
		switch v := v.(type) {
		case nil:
		case string:
			if v != NULL {
				out[i] = append([]byte{}, v...)
			}
		case int:
			out[i] = []byte(strconv.Itoa(v))
		case []byte:
			out[i] = v
		default:
			panic(fmt.Sprintf("row: unexpected %T", v))
		}
	}
	return out
}

// Where a response breaks (a plain I/O error).
const (
	noBreak      = -3
	breakAtSend  = -2
	breakAtStart = -1 // after Send, before the first packet
)

// resp is one canned response.
type resp struct {
	cols   []wire.Column
	rows   []vals
	status uint16 // of the final EOF
	// warnings is the final EOF's warning count.
	warnings uint16
	ok       *wire.OK
	srvErr   *mysql.MyError
	// errAfter: with srvErr, -1 answers the error instead of a result,
	// k >= 0 sends it after k rows.
	errAfter int
	// breakAt: noBreak, breakAtSend, breakAtStart or after k rows.
	breakAt int
	// breakErr is the error of the break; nil: errFakeIO.
	breakErr error
	cache    []pkt
}

// rs is a result set.
func rs(cs []wire.Column, rows ...vals) *resp {
	return &resp{cols: cs, rows: rows, status: mysql.SERVER_STATUS_AUTOCOMMIT, errAfter: -1, breakAt: noBreak}
}

// okResp is an OK packet.
func okResp(ok wire.OK) *resp {
	return &resp{ok: &ok, errAfter: -1, breakAt: noBreak}
}

// srvErr is an error packet instead of a result.
func srvErr(code uint16, msg string) *resp {
	return &resp{srvErr: wire.Errorf(code, "%s", msg), errAfter: -1, breakAt: noBreak}
}

// broken is a connection that fails at Send (atSend) or right after it.
func broken(atSend bool) *resp {
	r := &resp{errAfter: -1, breakAt: breakAtStart}
	if atSend {
		r.breakAt = breakAtSend
	}
	return r
}

// failAfter sends a server error after k rows.
func (r *resp) failAfter(k int, code uint16, msg string) *resp {
	r.srvErr, r.errAfter = wire.Errorf(code, "%s", msg), k
	return r
}

// breakAfter breaks the connection after k rows.
func (r *resp) breakAfter(k int) *resp {
	r.breakAt = k
	return r
}

// errCut is what a read on a connection the pool cut returns.
var errCut = &backend.LeftRotationError{Server: "replica c1 (10.0.0.1:3306)", Reason: "health check failed: i/o timeout", Err: errors.New("use of closed network connection")}

// cutAfter: the server leaves rotation and the pool cuts the connection
// after k rows (breakAtStart: before the first packet).
func (r *resp) cutAfter(k int) *resp {
	r.breakAt, r.breakErr = k, errCut
	return r
}

func (r *resp) breakError() error {
	if r.breakErr != nil {
		return r.breakErr
	}
	return errFakeIO
}

func (r *resp) withStatus(s uint16) *resp {
	r.status = s
	return r
}

var errFakeIO = errors.New("fake: connection reset by peer")

// pkt is one step of a response: a packet, or a plain error.
type pkt struct {
	b   []byte
	err error
}

// packets is what the server sends.
func (r *resp) packets() []pkt {
	if r.cache == nil {
		r.cache = r.build()
	}
	return r.cache
}

func (r *resp) build() []pkt {
	var out []pkt
	switch {
	case r.breakAt == breakAtStart:
		return []pkt{{err: r.breakError()}}
	case r.ok != nil:
		return []pkt{{b: wire.AppendOK(nil, *r.ok)}}
	case r.srvErr != nil && r.errAfter < 0:
		return []pkt{{b: wire.ErrorPacket(r.srvErr)}}
	}
	out = append(out, pkt{b: mysql.AppendLengthEncodedInteger(nil, uint64(len(r.cols)))})
	for _, c := range r.cols {
		out = append(out, pkt{b: wire.AppendColumn(nil, c)})
	}
	out = append(out, pkt{b: wire.AppendEOF(nil, 0, mysql.SERVER_STATUS_AUTOCOMMIT)})
	for i := 0; ; i++ {
		if r.srvErr != nil && r.errAfter == i {
			return append(out, pkt{b: wire.ErrorPacket(r.srvErr)})
		}
		if r.breakAt == i {
			return append(out, pkt{err: r.breakError()})
		}
		if i == len(r.rows) {
			break
		}
		out = append(out, pkt{b: encodeRow(r.rows[i])})
	}
	return append(out, pkt{b: wire.AppendEOF(nil, r.warnings, r.status)})
}

func encodeRow(v vals) []byte {
	var b []byte
	for _, x := range v {
		b = wire.AppendTextValue(b, x, x == nil)
	}
	return b
}

// fakeCursor implements Cursor.
type fakeCursor struct {
	t testing.TB
	// atomic, when set, answers Atomic.
	atomic func() (func(error) error, error)

	seq    bool
	conc   int
	status uint16
	// failConn: clusters that give no connection, and the error.
	failConn map[string]error
	// lostInTxn: Lost answers as a session whose transaction was on the
	// connection.
	lostInTxn bool
	// retries is how many Retry calls answer true.
	retries int
	// ensureErr: buckets whose creation fails.
	ensureErr map[string]error
	// mem is the statement's memory account (withMemory sets a small one).
	mem *memory.Account
	// onPrefix, when set, answers statements it returns a response for
	// (many generated statements), before the canned ones.
	onPrefix func(sql string) *resp
	// noSpare: Outside answers nil (the pools cannot lend a read's
	// connections); outsideNeed is what the last Outside was asked.
	noSpare     bool
	outsideNeed map[string]int
	// seqErr fails AssignSequence; seqNext is each sequence's next value.
	seqErr  error
	seqNext map[string]int64

	mu        sync.Mutex
	responses map[string][]*resp
	conns     []*fakeConn
	live      int
	peak      int
	events    []string
	succeeded []wire.OK
	retried   []int // attempts passed to Retry
	ensured   []string
	warnings  []string // Warn's, as "level code message"
}

func newCursor(t testing.TB) *fakeCursor {
	vc := &fakeCursor{t: t, conc: 8, status: mysql.SERVER_STATUS_AUTOCOMMIT, responses: map[string][]*resp{}}
	return vc.withMemory(1 << 30)
}

// withMemory gives the statement an account of limit bytes (its own
// budget: the statement is alone in it).
func (vc *fakeCursor) withMemory(limit int64) *fakeCursor {
	vc.mem = memory.NewBudget(limit, limit, limit).Statement(nil)
	return vc
}

// on sets the responses to sql: one per execution, the last repeats.
func (vc *fakeCursor) on(sql string, rs ...*resp) *fakeCursor {
	vc.responses[sql] = append(vc.responses[sql], rs...)
	return vc
}

func (vc *fakeCursor) next(sql string) *resp {
	if vc.onPrefix != nil {
		if r := vc.onPrefix(sql); r != nil {
			return r
		}
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	q := vc.responses[sql]
	if len(q) == 0 {
		vc.t.Errorf("fake: no response for %q", sql)
		return srvErr(mysql.ER_UNKNOWN_ERROR, "no canned response")
	}
	if len(q) > 1 {
		vc.responses[sql] = q[1:]
	}
	return q[0]
}

func (vc *fakeCursor) Conn(cluster string, replica bool) (Conn, error) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if err := vc.failConn[cluster]; err != nil {
		vc.events = append(vc.events, "noconn:"+cluster)
		return nil, err
	}
	c := &fakeConn{id: len(vc.conns) + 1, cluster: cluster, replica: replica, vc: vc}
	vc.conns = append(vc.conns, c)
	vc.live++
	vc.peak = max(vc.peak, vc.live)
	vc.events = append(vc.events, fmt.Sprintf("conn:%d:%s", c.id, cluster))
	return c, nil
}

func (vc *fakeCursor) Release(c Conn, out *backend.Outcome, err error) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	fc := c.(*fakeConn)
	if fc.released > 0 || fc.dropped {
		vc.t.Errorf("conn %d (%s) released again (out %+v, err %v)", fc.id, fc.cluster, out, err)
	}
	fc.released++
	fc.relOut, fc.relErr = out, err
	vc.live--
	vc.events = append(vc.events, fmt.Sprintf("release:%d:%s", fc.id, faultName(Classify(err))))
}

// Lost answers as a session outside a transaction would (lostInTxn: as
// one whose transaction was on c).
func (vc *fakeCursor) Lost(c Conn, err error) error {
	vc.Release(c, nil, err)
	if vc.lostInTxn && Classify(err) == FaultBroken && !backend.Sent(err) {
		return backend.TransactionLost(serverName(c, c.(*fakeConn).cluster), err)
	}
	return LostConnection(c, c.(*fakeConn).cluster, err)
}

func (vc *fakeCursor) Retry(c Conn, attempt int) bool {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	fc := c.(*fakeConn)
	vc.retried = append(vc.retried, attempt)
	vc.events = append(vc.events, fmt.Sprintf("retry:%d:%d", fc.id, attempt))
	if vc.retries <= 0 {
		return false
	}
	vc.retries--
	fc.dropped = true
	vc.live--
	return true
}

func (vc *fakeCursor) Sequential() bool { return vc.seq }

func (vc *fakeCursor) Succeeded(ok wire.OK) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.succeeded = append(vc.succeeded, ok)
	vc.events = append(vc.events, "succeeded")
}

func (vc *fakeCursor) Atomic(clusters []string) (func(error) error, error) {
	if vc.atomic == nil {
		return nil, nil
	}
	return vc.atomic()
}

func (vc *fakeCursor) Warn(level string, code uint16, message string) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	vc.warnings = append(vc.warnings, fmt.Sprintf("%s %d %s", level, code, message))
}

func (vc *fakeCursor) WarningCount() uint16 {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	return uint16(len(vc.warnings))
}

func (vc *fakeCursor) Status() uint16          { return vc.status }
func (vc *fakeCursor) Memory() *memory.Account { return vc.mem }
func (vc *fakeCursor) ScatterConcurrency() int { return vc.conc }

func (vc *fakeCursor) EnsureBucket(need BucketNeed) error {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	name := need.Schema + "." + need.Table.Name + "_" + need.Bucket
	vc.ensured = append(vc.ensured, name)
	vc.events = append(vc.events, "ensure:"+name)
	return vc.ensureErr[need.Bucket]
}

// AssignSequence counts from 1000 per key, as a sequence starting there
// would; an explicit value at or past the next moves it.
func (vc *fakeCursor) AssignSequence(key string, start, cache int64, slots []SequenceSlot) ([]int64, error) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if vc.seqErr != nil {
		return nil, vc.seqErr
	}
	if vc.seqNext == nil {
		vc.seqNext = map[string]int64{}
	}
	if vc.seqNext[key] < max(start, 1000) {
		vc.seqNext[key] = max(start, 1000)
	}
	out := make([]int64, len(slots))
	for i, sl := range slots {
		switch {
		case !sl.Explicit:
			out[i] = vc.seqNext[key]
			vc.seqNext[key]++
		case sl.Value >= vc.seqNext[key]:
			vc.seqNext[key] = sl.Value + 1
		}
	}
	return out, nil
}

func faultName(f Fault) string {
	return [...]string{"none", "server", "client", "broken"}[f]
}

// checkReleased: every connection borrowed was given back exactly once
// (released, or dropped by a Retry that answered true).
func (vc *fakeCursor) checkReleased(t testing.TB) {
	t.Helper()
	vc.mu.Lock()
	defer vc.mu.Unlock()
	for _, c := range vc.conns {
		n := c.released
		if c.dropped {
			n++
		}
		if n != 1 {
			t.Errorf("conn %d (%s, sent %q) given back %d times, want 1", c.id, c.cluster, c.sent, n)
		}
	}
	if vc.live != 0 {
		t.Errorf("%d connections still borrowed", vc.live)
	}
	// Primitives give back what they reserved themselves; the session's
	// closing of the account is only the backstop.
	if n := vc.mem.Used(); n != 0 {
		t.Errorf("the statement still holds %d bytes of memory", n)
	}
}

// checkSucceeded: Succeeded called exactly once on success, never on
// failure.
func (vc *fakeCursor) checkSucceeded(t testing.TB, success bool) {
	t.Helper()
	want := 0
	if success {
		want = 1
	}
	if len(vc.succeeded) != want {
		t.Errorf("Succeeded called %d times, want %d (events %v)", len(vc.succeeded), want, vc.events)
	}
}

// connFor is the last connection that ran sql.
func (vc *fakeCursor) connFor(t testing.TB, sql string) *fakeConn {
	t.Helper()
	for i := len(vc.conns) - 1; i >= 0; i-- {
		for _, s := range vc.conns[i].sent {
			if s == sql {
				return vc.conns[i]
			}
		}
	}
	t.Fatalf("no connection ran %q", sql)
	return nil
}

// fakeConn implements Conn over canned packets. Stream, ReadHeader,
// ReadRow and Query follow backend.Conn's.
type fakeConn struct {
	id      int
	cluster string
	replica bool
	vc      *fakeCursor
	sent    []string
	pending []pkt
	reads   int // packets read
	buf     []byte

	released int
	dropped  bool
	relOut   *backend.Outcome
	relErr   error
	warnings uint16 // of the last EOF read by ReadRow
}

func (c *fakeConn) Addr() string { return fmt.Sprintf("10.0.0.%d:3306", c.id) }

// drained: the response has been read to its end.
func (c *fakeConn) drained() bool { return len(c.pending) == 0 }

// fault is how the connection was released.
func (c *fakeConn) fault() Fault { return Classify(c.relErr) }

func (c *fakeConn) SendQuery(sql string) error { return c.Send(mysql.COM_QUERY, []byte(sql)) }

func (c *fakeConn) Send(cmd byte, arg []byte) error {
	if cmd != mysql.COM_QUERY {
		c.vc.t.Errorf("fake: command 0x%x, want COM_QUERY", cmd)
	}
	if len(c.pending) > 0 {
		c.vc.t.Errorf("fake: conn %d: command sent before the previous response was read", c.id)
	}
	sql := string(arg)
	c.sent = append(c.sent, sql)
	r := c.vc.next(sql)
	if r.breakAt == breakAtSend {
		// As backend.Conn: a failed write means the server never got it.
		c.pending = nil
		return backend.BeforeStatement(errFakeIO)
	}
	c.pending = r.packets()
	return nil
}

func (c *fakeConn) readPacket() ([]byte, error) {
	if len(c.pending) == 0 {
		c.vc.t.Errorf("fake: conn %d read past the end of its response", c.id)
		return nil, errors.New("fake: nothing to read")
	}
	p := c.pending[0]
	c.pending = c.pending[1:]
	c.reads++
	if p.err != nil {
		c.pending = nil
		return nil, p.err
	}
	// The real connection reuses its buffer: so does this one, so that
	// primitives keeping a packet without copying it are caught.
	c.buf = append(c.buf[:0], p.b...)
	return c.buf, nil
}

func (c *fakeConn) Stream(dst backend.Sink, columns func([]byte) []byte) (backend.Outcome, error) {
	var out backend.Outcome
	p, err := c.readPacket()
	if err != nil {
		return out, err
	}
	switch p[0] {
	case wire.HeaderOK:
		ok, _ := wire.ParseOK(p)
		out.OK, out.Status = ok, ok.Status
		if err := dst.WritePacket(p); err != nil {
			return out, &backend.SinkError{Err: err}
		}
		return out, nil
	case wire.HeaderERR:
		out.Err = wire.ParseError(p)
		if err := dst.WritePacket(p); err != nil {
			return out, &backend.SinkError{Err: err}
		}
		return out, nil
	}
	if err := dst.WritePacket(p); err != nil {
		return out, &backend.SinkError{Err: err}
	}
	eofs := 0
	for {
		p, err := c.readPacket()
		if err != nil {
			return out, err
		}
		if eofs == 0 && columns != nil && !wire.IsEOF(p) {
			p = columns(p)
		}
		if err := dst.WritePacket(p); err != nil {
			return out, &backend.SinkError{Err: err}
		}
		switch {
		case len(p) > 0 && p[0] == wire.HeaderERR:
			out.Err = wire.ParseError(p)
			return out, nil
		case wire.IsEOF(p):
			eofs++
			if eofs == 2 {
				out.Status = wire.EOFStatus(p)
				return out, nil
			}
		}
	}
}

func (c *fakeConn) ReadHeader() ([][]byte, error) {
	p, err := c.readPacket()
	if err != nil {
		return nil, err
	}
	switch {
	case p[0] == wire.HeaderERR:
		return nil, wire.ParseError(p)
	case p[0] == wire.HeaderOK:
		return nil, errors.New("statement returned no result set")
	}
	n, _, _, _ := wire.LenEncInt(p)
	hdr := make([][]byte, 0, n)
	for {
		p, err := c.readPacket()
		if err != nil {
			return nil, err
		}
		if wire.IsEOF(p) {
			return hdr, nil
		}
		hdr = append(hdr, append([]byte(nil), p...))
	}
}

func (c *fakeConn) ReadRow() ([]byte, bool, uint16, error) {
	p, err := c.readPacket()
	if err != nil {
		return nil, false, 0, err
	}
	switch {
	case p[0] == wire.HeaderERR:
		return nil, false, 0, wire.ParseError(p)
	case wire.IsEOF(p):
		c.warnings = wire.EOFWarnings(p)
		return nil, true, wire.EOFStatus(p), nil
	}
	return p, false, 0, nil
}

func (c *fakeConn) Warnings() uint16 { return c.warnings }

func (c *fakeConn) Query(sql string) (*backend.Result, wire.OK, error) {
	if err := c.Send(mysql.COM_QUERY, []byte(sql)); err != nil {
		return nil, wire.OK{}, err
	}
	var res backend.Result
	ncols := -1
	sink := func(p []byte) error {
		switch {
		case p[0] == wire.HeaderERR:
		case ncols < 0:
			if p[0] == wire.HeaderOK {
				return nil
			}
			n, _, _, _ := wire.LenEncInt(p)
			ncols = int(n)
		case len(res.Columns) < ncols:
			col, _ := wire.ParseColumn(p)
			res.Columns = append(res.Columns, col)
		case wire.IsEOF(p):
		default:
			vs, nulls, _ := wire.ParseTextRow(p, ncols)
			row := make([]*string, len(vs))
			for i, v := range vs {
				if !nulls[i] {
					s := string(v)
					row[i] = &s
				}
			}
			res.Rows = append(res.Rows, row)
		}
		return nil
	}
	out, err := c.Stream(backend.SinkFunc(sink), nil)
	if err != nil {
		return nil, out.OK, err
	}
	if out.Err != nil {
		return nil, out.OK, out.Err
	}
	return &res, out.OK, nil
}

func (c *fakeConn) Exec(sql string) (wire.OK, error) {
	_, ok, err := c.Query(sql)
	return ok, err
}

// recWriter records what the client gets. failAt > 0 makes that write
// (counting from 1) and every later one fail.
type recWriter struct {
	packets [][]byte
	flushes int
	failAt  int
	writes  int
}

var errClientGone = errors.New("fake: broken pipe to client")

func (w *recWriter) WritePacket(p []byte) error {
	w.writes++
	if w.failAt > 0 && w.writes >= w.failAt {
		return errClientGone
	}
	w.packets = append(w.packets, append([]byte(nil), p...))
	return nil
}

func (w *recWriter) Flush() error {
	w.flushes++
	return nil
}

// result is what the client got, decoded.
type result struct {
	cols     []wire.Column
	rows     [][]string // NULL for SQL NULL
	status   uint16     // of the final EOF
	complete bool       // the result set ended with its final EOF
	ok       *wire.OK
	err      *mysql.MyError // an ERR packet
	empty    bool           // nothing at all
}

// decode checks the packets are one well-formed response and decodes it.
func decode(t testing.TB, packets [][]byte) result {
	t.Helper()
	var r result
	if len(packets) == 0 {
		r.empty = true
		return r
	}
	p := packets[0]
	switch p[0] {
	case wire.HeaderOK:
		ok, good := wire.ParseOK(p)
		if !good {
			t.Fatalf("malformed OK packet %x", p)
		}
		r.ok = &ok
		if len(packets) != 1 {
			t.Errorf("%d packets after the OK packet", len(packets)-1)
		}
		return r
	case wire.HeaderERR:
		r.err = wire.ParseError(p)
		if len(packets) != 1 {
			t.Errorf("%d packets after the ERR packet", len(packets)-1)
		}
		return r
	}
	n, _, _, ok := wire.LenEncInt(p)
	if !ok || int(n)+2 > len(packets) {
		t.Fatalf("malformed result header: %d packets for %d columns", len(packets), n)
	}
	for i := 1; i <= int(n); i++ {
		c, good := wire.ParseColumn(packets[i])
		if !good {
			t.Fatalf("malformed column definition %x", packets[i])
		}
		r.cols = append(r.cols, c)
	}
	if !wire.IsEOF(packets[n+1]) {
		t.Fatalf("no EOF after the column definitions: %x", packets[n+1])
	}
	for i := int(n) + 2; i < len(packets); i++ {
		p := packets[i]
		switch {
		case wire.IsEOF(p):
			r.complete, r.status = true, wire.EOFStatus(p)
			if i != len(packets)-1 {
				t.Errorf("%d packets after the final EOF", len(packets)-1-i)
			}
			return r
		case p[0] == wire.HeaderERR:
			r.err = wire.ParseError(p)
			if i != len(packets)-1 {
				t.Errorf("%d packets after the ERR packet", len(packets)-1-i)
			}
			return r
		}
		vs, nulls, good := wire.ParseTextRow(p, int(n))
		if !good {
			t.Fatalf("row %x does not hold %d values", p, n)
		}
		row := make([]string, n)
		for j := range vs {
			row[j] = string(vs[j])
			if nulls[j] {
				row[j] = NULL
			}
		}
		r.rows = append(r.rows, row)
	}
	return r
}

// colNames lists the names of columns.
func colNames(cs []wire.Column) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

// strRows turns vals into decoded form.
func strRows(rows ...vals) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = make([]string, len(r))
		for j, v := range r {
			out[i][j] = string(v)
			if v == nil {
				out[i][j] = NULL
			}
		}
	}
	return out
}

func fmtRows(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("(" + strings.Join(r, ", ") + ") ")
	}
	return b.String()
}

// wantRows compares decoded rows.
func wantRows(t testing.TB, got [][]string, want ...vals) {
	t.Helper()
	w := strRows(want...)
	if fmtRows(got) != fmtRows(w) || len(got) != len(w) {
		t.Errorf("rows:\n got  %s\n want %s", fmtRows(got), fmtRows(w))
	}
}

// wantComplete checks a successful result set and returns it.
func wantComplete(t testing.TB, vc *fakeCursor, w *recWriter, err error) result {
	t.Helper()
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	r := decode(t, w.packets)
	if !r.complete || r.err != nil {
		t.Fatalf("result not complete: %+v", r)
	}
	if r.status != vc.status {
		t.Errorf("final EOF status %#x, want the session's %#x", r.status, vc.status)
	}
	if w.flushes == 0 {
		t.Errorf("not flushed")
	}
	vc.checkReleased(t)
	vc.checkSucceeded(t, true)
	return r
}

// wantFailed checks a statement that failed: an error returned, no
// complete result, Succeeded never called, every connection given back.
func wantFailed(t testing.TB, vc *fakeCursor, w *recWriter, err error) *mysql.MyError {
	t.Helper()
	if err == nil {
		t.Fatalf("Execute succeeded, want an error; packets %q", w.packets)
	}
	r := decode(t, w.packets)
	if r.complete || r.ok != nil {
		t.Errorf("client got a complete answer (%d rows) despite the error %v", len(r.rows), err)
	}
	vc.checkReleased(t)
	vc.checkSucceeded(t, false)
	var me *mysql.MyError
	if !errors.As(err, &me) {
		return nil
	}
	return me
}

// wantCode checks an error's MySQL code.
func wantCode(t testing.TB, err error, code uint16, contains ...string) {
	t.Helper()
	var me *mysql.MyError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a MySQL error", err, err)
	}
	if me.Code != code {
		t.Errorf("error code %d (%s), want %d", me.Code, me.Message, code)
	}
	for _, s := range contains {
		if !strings.Contains(me.Message, s) {
			t.Errorf("error %q does not mention %q", me.Message, s)
		}
	}
}

// wantAbandoned: the input on sql was released mid-result, with a
// FaultClient-class error so that the session kills its query.
func wantAbandoned(t testing.TB, vc *fakeCursor, sql string) {
	t.Helper()
	c := vc.connFor(t, sql)
	if c.fault() != FaultClient {
		t.Errorf("%s: released with %v (%s), want a FaultClient error", sql, c.relErr, faultName(c.fault()))
	}
}

// wantClean: the input on sql was read to its end and released cleanly,
// with the status of its final EOF.
func wantClean(t testing.TB, vc *fakeCursor, sql string) {
	t.Helper()
	c := vc.connFor(t, sql)
	if c.relErr != nil {
		t.Errorf("%s: released with error %v, want clean", sql, c.relErr)
	}
	if c.relOut == nil || c.relOut.Err != nil {
		t.Errorf("%s: released with outcome %+v, want the final status", sql, c.relOut)
	} else if c.relOut.Status != mysql.SERVER_STATUS_AUTOCOMMIT {
		t.Errorf("%s: released with status %#x, want the final EOF's %#x", sql, c.relOut.Status, mysql.SERVER_STATUS_AUTOCOMMIT)
	}
	if !c.drained() {
		t.Errorf("%s: %d packets left unread", sql, len(c.pending))
	}
}

// wantBrokenRelease: the input on sql was released as broken.
func wantBrokenRelease(t testing.TB, vc *fakeCursor, sql string) {
	t.Helper()
	c := vc.connFor(t, sql)
	if c.fault() != FaultBroken {
		t.Errorf("%s: released with %v (%s), want the I/O error", sql, c.relErr, faultName(c.fault()))
	}
}

// wantServerRelease: the input on sql ended with an error packet and
// was released as a usable connection that did not succeed.
func wantServerRelease(t testing.TB, vc *fakeCursor, sql string) {
	t.Helper()
	c := vc.connFor(t, sql)
	if c.relErr != nil {
		t.Errorf("%s: released with %v, want a usable connection (the server answered an error)", sql, c.relErr)
	}
	if c.relOut != nil && c.relOut.Err == nil {
		// A success with status 0 would clear IN_TRANS and unpin an
		// open transaction.
		t.Errorf("%s: released with a successful outcome %+v after an error packet; want nil or one with Err set", sql, *c.relOut)
	}
}

// routes makes n routes, SQL "q0".."q<n-1>" on clusters c0.., with
// responses.
func routes(vc *fakeCursor, rsps ...*resp) []*Route {
	out := make([]*Route, len(rsps))
	for i, r := range rsps {
		sql := fmt.Sprintf("q%d", i)
		out[i] = &Route{Cluster: fmt.Sprintf("c%d", i), SQL: sql, Replica: true}
		vc.on(sql, r)
	}
	return out
}

// sqlOf is the SQL text routes() gives input i.
func sqlOf(i int) string { return fmt.Sprintf("q%d", i) }

// eventIndex is the position of the first event with the prefix, -1.
func (vc *fakeCursor) eventIndex(prefix string) int {
	for i, e := range vc.events {
		if strings.HasPrefix(e, prefix) {
			return i
		}
	}
	return -1
}

// lastEventIndex is the position of the last event with the prefix, -1.
func (vc *fakeCursor) lastEventIndex(prefix string) int {
	for i := len(vc.events) - 1; i >= 0; i-- {
		if strings.HasPrefix(vc.events[i], prefix) {
			return i
		}
	}
	return -1
}

// sentCount counts the connections that were sent sql.
func (vc *fakeCursor) sentCount(sql string) int {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	n := 0
	for _, c := range vc.conns {
		for _, s := range c.sent {
			if s == sql {
				n++
			}
		}
	}
	return n
}
