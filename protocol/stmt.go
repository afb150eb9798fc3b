package protocol

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/router"
	"github.com/shardgate/shardgate/wire"
)

// maxStmtsPerConn bounds the prepared statements one client may hold open.
const maxStmtsPerConn = 16382

// preparedStmt is a client's prepared statement. Its id is the proxy's own;
// no backend holds it: each EXECUTE binds the values into the text and runs
// it like a query, so it is routed by its values.
type preparedStmt struct {
	prep  *router.Prepared
	types []uint16 // parameter types from the last EXECUTE that sent them
	// long is the parameters' long data (COM_STMT_SEND_LONG_DATA) until
	// the next EXECUTE or RESET. Each buffer's capacity is reserved from
	// the connection's memory account (longCost).
	long map[int][]byte
	// longErr is why long data was refused (1153 past max_allowed_packet
	// for one parameter, 1041 past the memory budget). As in MySQL, the
	// statement then ignores more long data and its next EXECUTE answers
	// the error; RESET clears it.
	longErr error
}

// longCost is what a long-data buffer of capacity c holds of the budget.
func longCost(c int) int64 { return memory.Bytes(c) }

// dropLong forgets the statement's long data and gives its memory back.
func (st *preparedStmt) dropLong(acct *memory.Account) {
	for _, data := range st.long {
		acct.Shrink(longCost(cap(data)))
	}
	st.long = nil
}

func (cc *clientConn) stmtPrepare(sql string) bool {
	if len(cc.stmts) >= maxStmtsPerConn {
		return cc.reply(wire.Errorf(mysql.ER_MAX_PREPARED_STMT_COUNT_REACHED, "Can't create more than max_prepared_stmt_count statements (current value: %d)", maxStmtsPerConn))
	}
	prep, err := cc.sess.Prepare(sql)
	if err != nil {
		return cc.reply(err)
	}
	if cc.stmts == nil {
		cc.stmts = map[uint32]*preparedStmt{}
	}
	cc.nextStmt++
	id := cc.nextStmt
	cc.stmts[id] = &preparedStmt{prep: prep}
	ok := []byte{0}
	ok = binary.LittleEndian.AppendUint32(ok, id)
	ok = binary.LittleEndian.AppendUint16(ok, uint16(len(prep.Columns)))
	ok = binary.LittleEndian.AppendUint16(ok, uint16(len(prep.Offsets)))
	ok = append(ok, 0, 0, 0)
	packets := [][]byte{ok}
	for _, defs := range [][][]byte{prep.Params, prep.Columns} {
		if len(defs) > 0 {
			packets = append(packets, defs...)
			packets = append(packets, wire.AppendEOF(nil, 0, cc.sess.Status()))
		}
	}
	for _, p := range packets {
		if cc.WritePacket(p) != nil {
			return false
		}
	}
	return cc.Flush() == nil
}

func (cc *clientConn) stmtFor(arg []byte) (*preparedStmt, uint32, error) {
	if len(arg) < 4 {
		return nil, 0, wire.Errorf(mysql.ER_MALFORMED_PACKET, "Malformed communication packet")
	}
	id := binary.LittleEndian.Uint32(arg)
	st, ok := cc.stmts[id]
	if !ok {
		return nil, id, wire.Errorf(mysql.ER_UNKNOWN_STMT_HANDLER, "Unknown prepared statement handler (%d) given to mysqld_stmt_execute", id)
	}
	return st, id, nil
}

// stmtExecute binds the values into the statement's text and runs it.
// The text is reserved from the connection's memory account while it
// exists: each literal as it is made (long data given back as its literal
// replaces it), then the whole text, given back when the statement ends.
func (cc *clientConn) stmtExecute(arg []byte) bool {
	st, _, err := cc.stmtFor(arg)
	if err != nil {
		return cc.reply(err)
	}
	acct := cc.sess.Memory()
	if err := st.longErr; err != nil {
		st.dropLong(acct)
		st.longErr = nil
		cc.sess.NoteMemoryRefusal(err)
		return cc.reply(err)
	}
	literals, held, err := st.bind(arg[4:], cc.sess.TextMode(), acct)
	st.dropLong(acct)
	if err != nil {
		acct.Shrink(held)
		cc.sess.NoteMemoryRefusal(err)
		return cc.reply(err)
	}
	text := memory.Bytes(parser.InterpolatedLen(st.prep.SQL, st.prep.Offsets, literals))
	if err := acct.Grow(text); err != nil {
		acct.Shrink(held)
		err = bindMemoryError(err)
		cc.sess.NoteMemoryRefusal(err)
		return cc.reply(err)
	}
	sql := parser.Interpolate(st.prep.SQL, st.prep.Offsets, literals)
	literals = nil
	acct.Shrink(held)
	err = cc.sess.ExecutePrepared(st.prep, sql, newBinaryWriter(cc.Conn))
	acct.Shrink(text)
	return cc.reply(err)
}

// bindMemoryError is the answer to an EXECUTE whose text does not fit the
// memory budget.
func bindMemoryError(err error) error {
	return engine.MemoryError(mysql.ER_OUT_OF_RESOURCES, "binding the parameters of a prepared statement",
		"send smaller values", err)
}

// longDataMemoryError is the answer to an EXECUTE whose long data did not
// fit the memory budget.
func longDataMemoryError(err error) error {
	return engine.MemoryError(mysql.ER_OUT_OF_RESOURCES, "long data of a prepared statement parameter (COM_STMT_SEND_LONG_DATA)",
		"send smaller values or execute the statements holding long data first", err)
}

func (cc *clientConn) stmtLongData(arg []byte) bool {
	st, _, err := cc.stmtFor(arg)
	if err != nil || len(arg) < 6 {
		return true // COM_STMT_SEND_LONG_DATA has no answer, not even an error
	}
	param := int(binary.LittleEndian.Uint16(arg[4:]))
	if param >= len(st.prep.Offsets) || st.longErr != nil {
		return true
	}
	acct := cc.sess.Memory()
	data, chunk := st.long[param], arg[6:]
	limit := cc.srv.currentRules().MaxAllowedPacket
	if len(data)+len(chunk) > limit {
		// Reported by the EXECUTE, which has an answer.
		st.failLong(acct, wire.Errorf(mysql.ER_NET_PACKET_TOO_LARGE,
			"Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes (%d, the proxy's max_allowed_packet); send a smaller value or raise max_allowed_packet in the rules", limit))
		return true
	}
	if need := len(data) + len(chunk); need > cap(data) {
		// Grown by doubling (up to max_allowed_packet), reserved before
		// the new buffer exists; the old one is given back once copied.
		size := min(limit, max(need, 2*cap(data)))
		if err := acct.Grow(longCost(size)); err != nil {
			st.failLong(acct, longDataMemoryError(err))
			return true
		}
		grown := make([]byte, len(data), size)
		copy(grown, data)
		acct.Shrink(longCost(cap(data)))
		data = grown
	}
	if st.long == nil {
		st.long = map[int][]byte{}
	}
	st.long[param] = append(data, chunk...)
	return true
}

// failLong drops the statement's long data (its EXECUTE will fail anyway)
// and keeps err for that EXECUTE.
func (st *preparedStmt) failLong(acct *memory.Account, err error) {
	st.dropLong(acct)
	st.longErr = err
}

// longDataRefused handles a COM_STMT_SEND_LONG_DATA packet the connection
// could not even read (its buffer did not fit the budget): the statement
// it was for fails at its EXECUTE. head is the packet's first bytes.
func (cc *clientConn) longDataRefused(head []byte, err error) {
	if len(head) < 7 {
		return
	}
	if st, ok := cc.stmts[binary.LittleEndian.Uint32(head[1:])]; ok && st.longErr == nil {
		st.failLong(cc.sess.Memory(), longDataMemoryError(err))
	}
}

func (cc *clientConn) stmtClose(arg []byte) bool {
	if len(arg) >= 4 {
		id := binary.LittleEndian.Uint32(arg)
		if st, ok := cc.stmts[id]; ok {
			st.dropLong(cc.sess.Memory())
			delete(cc.stmts, id)
		}
	}
	return true // no answer
}

func (cc *clientConn) stmtReset(arg []byte) bool {
	st, _, err := cc.stmtFor(arg)
	if err != nil {
		return cc.reply(err)
	}
	st.dropLong(cc.sess.Memory())
	st.longErr = nil
	return cc.ok()
}

// dropStatements forgets every prepared statement (COM_RESET_CONNECTION)
// and gives back their long data.
func (cc *clientConn) dropStatements() {
	for _, st := range cc.stmts {
		st.dropLong(cc.sess.Memory())
	}
	cc.stmts = nil
}

var errMalformedExecute = wire.Errorf(mysql.ER_MALFORMED_PACKET, "Malformed communication packet")

// bind decodes COM_STMT_EXECUTE's parameters into SQL literals for a
// session whose server reads text in mode m. Literals made from long data
// are reserved from acct before they are made (at most twice the data, as
// hex, and an introducer), and the long data is given back as its literal
// replaces it; a literal made from a value in the packet is reserved once
// made (the packet, charged itself, bounds it). held is what the literals
// hold of acct: the caller gives it back, also on error.
func (st *preparedStmt) bind(p []byte, m parser.TextMode, acct *memory.Account) (literals []string, held int64, err error) {
	grow := func(n int64) error {
		if err := acct.Grow(n); err != nil {
			return bindMemoryError(err)
		}
		held += n
		return nil
	}
	n := len(st.prep.Offsets)
	if len(p) < 5 {
		return nil, held, errMalformedExecute
	}
	p = p[5:] // flags, iteration count
	if n == 0 {
		return nil, held, nil
	}
	bitmapLen := (n + 7) / 8
	if len(p) < bitmapLen+1 {
		return nil, held, errMalformedExecute
	}
	nulls, p := p[:bitmapLen], p[bitmapLen:]
	newTypes := p[0] == 1
	p = p[1:]
	if newTypes {
		if len(p) < 2*n {
			return nil, held, errMalformedExecute
		}
		st.types = make([]uint16, n)
		for i := range st.types {
			st.types[i] = binary.LittleEndian.Uint16(p[2*i:])
		}
		p = p[2*n:]
	}
	if len(st.types) != n {
		return nil, held, wire.Errorf(mysql.ER_WRONG_ARGUMENTS, "Incorrect arguments to mysqld_stmt_execute: no parameter types were sent")
	}
	literals = make([]string, n)
	for i := 0; i < n; i++ {
		if nulls[i/8]&(1<<(i%8)) != 0 {
			literals[i] = "NULL"
			continue
		}
		if data, ok := st.long[i]; ok {
			bound := memory.Bytes(2*len(data) + 64)
			if err := grow(bound); err != nil {
				return nil, held, err
			}
			literals[i] = parser.StringLiteral(data, m)
			actual := memory.Bytes(len(literals[i]))
			acct.Shrink(bound - actual)
			held -= bound - actual
			delete(st.long, i)
			acct.Shrink(longCost(cap(data)))
			continue
		}
		lit, rest, err := decodeParam(st.types[i], p, m)
		if err != nil {
			return nil, held, err
		}
		if len(lit) > 64 {
			if err := grow(memory.Bytes(len(lit))); err != nil {
				return nil, held, err
			}
		}
		literals[i], p = lit, rest
	}
	return literals, held, nil
}

// decodeParam reads one binary-protocol value and renders it as SQL.
func decodeParam(typ uint16, p []byte, m parser.TextMode) (string, []byte, error) {
	unsigned := typ&0x8000 != 0
	need := func(n int) error {
		if len(p) < n {
			return errMalformedExecute
		}
		return nil
	}
	switch byte(typ) {
	case mysql.MYSQL_TYPE_NULL:
		return "NULL", p, nil
	case mysql.MYSQL_TYPE_TINY:
		if err := need(1); err != nil {
			return "", nil, err
		}
		if unsigned {
			return strconv.FormatUint(uint64(p[0]), 10), p[1:], nil
		}
		return strconv.FormatInt(int64(int8(p[0])), 10), p[1:], nil
	case mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_YEAR:
		if err := need(2); err != nil {
			return "", nil, err
		}
		v := binary.LittleEndian.Uint16(p)
		if unsigned {
			return strconv.FormatUint(uint64(v), 10), p[2:], nil
		}
		return strconv.FormatInt(int64(int16(v)), 10), p[2:], nil
	case mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_INT24:
		if err := need(4); err != nil {
			return "", nil, err
		}
		v := binary.LittleEndian.Uint32(p)
		if unsigned {
			return strconv.FormatUint(uint64(v), 10), p[4:], nil
		}
		return strconv.FormatInt(int64(int32(v)), 10), p[4:], nil
	case mysql.MYSQL_TYPE_LONGLONG:
		if err := need(8); err != nil {
			return "", nil, err
		}
		v := binary.LittleEndian.Uint64(p)
		if unsigned {
			return strconv.FormatUint(v, 10), p[8:], nil
		}
		return strconv.FormatInt(int64(v), 10), p[8:], nil
	case mysql.MYSQL_TYPE_FLOAT:
		if err := need(4); err != nil {
			return "", nil, err
		}
		f := math.Float32frombits(binary.LittleEndian.Uint32(p))
		return parser.FloatLiteral(float64(f), 32), p[4:], nil
	case mysql.MYSQL_TYPE_DOUBLE:
		if err := need(8); err != nil {
			return "", nil, err
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(p))
		return parser.FloatLiteral(f, 64), p[8:], nil
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_TIME:
		if err := need(1); err != nil {
			return "", nil, err
		}
		n := int(p[0])
		if err := need(1 + n); err != nil {
			return "", nil, err
		}
		// go-mysql formats the binary protocol's date and time structures
		// (lengths 0, 4, 7, 11 for dates, 0, 8, 12 for TIME); any other
		// length is a malformed packet.
		var text []byte
		var err error
		if byte(typ) == mysql.MYSQL_TYPE_TIME {
			text, err = mysql.FormatBinaryTime(n, p[1:1+n])
		} else {
			text, err = mysql.FormatBinaryDateTime(n, p[1:1+n])
			if err == nil && byte(typ) == mysql.MYSQL_TYPE_DATE {
				text = text[:len("0000-00-00")]
			}
		}
		if err != nil {
			return "", nil, errMalformedExecute
		}
		return parser.StringLiteral(text, m), p[1+n:], nil
	}
	// Strings, decimals, blobs, JSON, BIT, ENUM, SET, GEOMETRY.
	v, n, null, ok := wire.LenEncString(p)
	if !ok {
		return "", nil, errMalformedExecute
	}
	if null {
		return "NULL", p[n:], nil
	}
	switch byte(typ) {
	case mysql.MYSQL_TYPE_DECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL:
		if lit, ok := parser.DecimalLiteral(v); ok {
			return lit, p[n:], nil
		}
	}
	return parser.StringLiteral(v, m), p[n:], nil
}
