package protocol

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/go-mysql-org/go-mysql/mysql"

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
	long  map[int][]byte
	// longTooBig: a parameter's long data passed max_allowed_packet.
	longTooBig bool
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

func (cc *clientConn) stmtExecute(arg []byte) bool {
	st, _, err := cc.stmtFor(arg)
	if err != nil {
		return cc.reply(err)
	}
	if st.longTooBig {
		st.long, st.longTooBig = nil, false
		return cc.reply(wire.Errorf(mysql.ER_NET_PACKET_TOO_LARGE, "Parameter of prepared statement is larger than 'max_allowed_packet' bytes"))
	}
	literals, err := st.bind(arg[4:], cc.sess.TextMode())
	st.long = nil
	if err != nil {
		return cc.reply(err)
	}
	sql := parser.Interpolate(st.prep.SQL, st.prep.Offsets, literals)
	return cc.reply(cc.sess.ExecutePrepared(st.prep, sql, newBinaryWriter(cc.Conn)))
}

func (cc *clientConn) stmtLongData(arg []byte) bool {
	st, _, err := cc.stmtFor(arg)
	if err != nil || len(arg) < 6 {
		return true // COM_STMT_SEND_LONG_DATA has no answer, not even an error
	}
	param := int(binary.LittleEndian.Uint16(arg[4:]))
	if param >= len(st.prep.Offsets) {
		return true
	}
	if st.long == nil {
		st.long = map[int][]byte{}
	}
	if len(st.long[param])+len(arg)-6 > cc.srv.currentRules().MaxAllowedPacket {
		st.longTooBig = true // reported by the EXECUTE, which has an answer
		return true
	}
	st.long[param] = append(st.long[param], arg[6:]...)
	return true
}

func (cc *clientConn) stmtClose(arg []byte) bool {
	if len(arg) >= 4 {
		delete(cc.stmts, binary.LittleEndian.Uint32(arg))
	}
	return true // no answer
}

func (cc *clientConn) stmtReset(arg []byte) bool {
	st, _, err := cc.stmtFor(arg)
	if err != nil {
		return cc.reply(err)
	}
	st.long, st.longTooBig = nil, false
	return cc.ok()
}

var errMalformedExecute = wire.Errorf(mysql.ER_MALFORMED_PACKET, "Malformed communication packet")

// bind decodes COM_STMT_EXECUTE's parameters into SQL literals for a
// session whose server reads text in mode m.
func (st *preparedStmt) bind(p []byte, m parser.TextMode) ([]string, error) {
	n := len(st.prep.Offsets)
	if len(p) < 5 {
		return nil, errMalformedExecute
	}
	p = p[5:] // flags, iteration count
	if n == 0 {
		return nil, nil
	}
	bitmapLen := (n + 7) / 8
	if len(p) < bitmapLen+1 {
		return nil, errMalformedExecute
	}
	nulls, p := p[:bitmapLen], p[bitmapLen:]
	newTypes := p[0] == 1
	p = p[1:]
	if newTypes {
		if len(p) < 2*n {
			return nil, errMalformedExecute
		}
		st.types = make([]uint16, n)
		for i := range st.types {
			st.types[i] = binary.LittleEndian.Uint16(p[2*i:])
		}
		p = p[2*n:]
	}
	if len(st.types) != n {
		return nil, wire.Errorf(mysql.ER_WRONG_ARGUMENTS, "Incorrect arguments to mysqld_stmt_execute: no parameter types were sent")
	}
	literals := make([]string, n)
	for i := 0; i < n; i++ {
		if nulls[i/8]&(1<<(i%8)) != 0 {
			literals[i] = "NULL"
			continue
		}
		if data, ok := st.long[i]; ok {
			literals[i] = parser.StringLiteral(data, m)
			continue
		}
		lit, rest, err := decodeParam(st.types[i], p, m)
		if err != nil {
			return nil, err
		}
		literals[i], p = lit, rest
	}
	return literals, nil
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
