package planner

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/shardgate/shardgate/collate"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/tabledef"
)

// Canonical shard keys. A shard-key literal is converted to the column's
// type the way MariaDB converts it, and the table is chosen by the hash of
// the value's canonical text, so every spelling of one value reaches the
// table that holds it: for an INT column 2, '02', ' 2', '2 ', 2.0 and
// '2abc' are all 2, hashed as "2" exactly as before (existing rows keep
// their place). The forms, per column type, are in the README (Sharding:
// canonical keys). Reads and writes differ where MariaDB's comparison and
// its storage differ: WHERE int_col = 2.5 matches no row (compared as
// decimals), while INSERT stores 2.5 as 3 (rounded).

// keyState says what a literal means for a column.
type keyState int

const (
	// keyOK: the value's canonical text is known.
	keyOK keyState = iota
	// keyNone: no row's value can equal it (reads only: WHERE int_col =
	// 2.5 is never true).
	keyNone
	// keyUnknown: the proxy cannot tell for certain which value the
	// server will see: a read must scatter, a write is refused.
	keyUnknown
)

// keyOf is the canonical text of literal v for column col. write selects
// MariaDB's storage conversion (INSERT), else its comparison (WHERE).
// conn is the session's character set, the one of strings without an
// introducer.
func keyOf(col *tabledef.Column, v parser.Value, conn string, write bool) (string, keyState, string) {
	switch col.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return intKey(col, v, write)
	case "decimal", "numeric":
		return decimalKey(col, v, write)
	case "datetime", "timestamp", "date":
		return timeKey(col, v, write, false)
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return stringKey(col, v, conn, write)
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return bytesKey(col, v, write)
	}
	return "", keyUnknown, fmt.Sprintf("shard keys of type %s are not converted by this version", col.ColumnType)
}

// keyClass names how a column's keys are made: columns of one class give
// equal values equal keys (a co-located join needs that).
func keyClass(c *tabledef.Column) string {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return "integer"
	case "decimal", "numeric":
		return fmt.Sprintf("decimal(%d)", c.Scale)
	case "datetime", "timestamp":
		return fmt.Sprintf("datetime(%d)", c.FSP)
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		return "text " + c.Collation
	case "binary":
		return fmt.Sprintf("binary(%d)", c.CharLength)
	case "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return "bytes"
	}
	return c.DataType
}

// intRange is the range of an integer column.
func intRange(col *tabledef.Column) (lo, hi *big.Int) {
	bits := intBits(col)
	one := big.NewInt(1)
	if col.Unsigned {
		return new(big.Int), new(big.Int).Sub(new(big.Int).Lsh(one, bits), one)
	}
	hi = new(big.Int).Sub(new(big.Int).Lsh(one, bits-1), one)
	return new(big.Int).Neg(new(big.Int).Add(hi, one)), hi
}

// intBits is the width of an integer column's type.
func intBits(col *tabledef.Column) uint {
	switch col.DataType {
	case "tinyint":
		return 8
	case "smallint":
		return 16
	case "mediumint":
		return 24
	case "int", "integer":
		return 32
	case "bigint":
		return 64
	}
	return 0
}

// intKey64 is intKey for an integer literal that fits in an int64 — the
// common key, every point statement's — without big numbers. ok is false
// when the slow path must decide.
func intKey64(col *tabledef.Column, v parser.Value, write bool) (key string, state keyState, ok bool) {
	bits := intBits(col)
	if v.Kind != parser.ValInt || bits == 0 {
		return "", 0, false
	}
	x, err := strconv.ParseInt(v.Text, 10, 64)
	if err != nil {
		return "", 0, false
	}
	var lo, hi int64
	switch {
	case col.Unsigned && bits == 64:
		lo, hi = 0, math.MaxInt64 // x is at most that
	case col.Unsigned:
		lo, hi = 0, 1<<bits-1
	default:
		lo, hi = -1<<(bits-1), 1<<(bits-1)-1
	}
	if x < lo || x > hi {
		if !write {
			return "", keyNone, true
		}
		x = min(max(x, lo), hi) // stored clipped
	}
	return strconv.FormatInt(x, 10), keyOK, true
}

// maxExactDouble bounds the integers a double holds exactly: beyond it a
// comparison as doubles can equal several integers.
var maxExactDouble = new(big.Rat).SetInt64(1 << 53)

func intKey(col *tabledef.Column, v parser.Value, write bool) (string, keyState, string) {
	if key, state, ok := intKey64(col, v, write); ok {
		return key, state, ""
	}
	return intKeyBig(col, v, write)
}

// intKeyBig is intKey for every literal, in exact rationals.
func intKeyBig(col *tabledef.Column, v parser.Value, write bool) (string, keyState, string) {
	var r *big.Rat
	// double: MariaDB compares (reads) or converts (writes) as a double;
	// halfEven: a double is stored rounded half to even (rint).
	double, halfEven := false, false
	switch v.Kind {
	case parser.ValInt, parser.ValDecimal:
		x, ok := new(big.Rat).SetString(v.Text)
		if !ok {
			return "", keyUnknown, "not a number"
		}
		r = x
	case parser.ValFloat:
		f, err := strconv.ParseFloat(v.Text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", keyUnknown, "not a number"
		}
		r = new(big.Rat)
		r.SetFloat64(f)
		double, halfEven = true, true
	case parser.ValString:
		x, exact := numberPrefix(v.Text)
		if x == nil {
			return "", keyUnknown, "a number of more than 80 digits"
		}
		r = x
		// A string that holds an integer and nothing else is compared
		// as an integer; any other is compared as a double (' 2x' = 2).
		double = !exact || !r.IsInt()
	case parser.ValHex:
		// 0x02 and b'10' are the number 2 here (X'02' is a string: 0).
		if len(v.Text) > 8 {
			return "", keyUnknown, "a hexadecimal literal longer than 8 bytes"
		}
		r = new(big.Rat).SetInt(new(big.Int).SetBytes([]byte(v.Text)))
	default:
		return "", keyUnknown, "not a number"
	}
	lo, hi := intRange(col)
	if !write {
		if double {
			// Compared as doubles: the value the comparison sees is the
			// string's number rounded to a double, which beyond 2^53
			// equals several integers.
			f, _ := r.Float64()
			if math.Abs(f) > 1<<53 {
				return "", keyUnknown, "a number beyond 2^53 compared as a double"
			}
			r = new(big.Rat).SetFloat64(f)
		}
		if !r.IsInt() {
			return "", keyNone, ""
		}
		n := r.Num()
		if n.Cmp(lo) < 0 || n.Cmp(hi) > 0 {
			return "", keyNone, ""
		}
		return n.String(), keyOK, ""
	}
	n := roundRat(r, halfEven)
	// Out of range: stored clipped (with a warning, or refused in strict
	// mode, where it does not matter where the row would have gone).
	if n.Cmp(lo) < 0 {
		n = lo
	} else if n.Cmp(hi) > 0 {
		n = hi
	}
	return n.String(), keyOK, ""
}

// roundRat rounds to an integer: half away from zero, as MariaDB stores
// decimals and strings in integer columns, or half to even, as it stores
// doubles (rint).
func roundRat(r *big.Rat, halfEven bool) *big.Int {
	num, den := r.Num(), r.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int)) // truncated toward zero
	twice := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2))
	c := twice.Cmp(den)
	if c > 0 || (c == 0 && (!halfEven || q.Bit(0) == 1)) {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// isSpace is MariaDB's my_isspace for the ASCII range.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// maxKeyDigits bounds the significant digits of a string read as a
// number: no integer or DECIMAL key has more (DECIMAL's 65), and a
// client's megabyte of digits must not cost a megabyte-sized conversion.
const maxKeyDigits = 80

// numberPrefix reads a string as MariaDB reads it as a number: leading
// white space, a sign, digits, a fraction, an exponent; what follows is
// ignored (with a warning). exact reports that nothing but trailing
// spaces followed the number and it had no exponent.
func numberPrefix(s string) (r *big.Rat, exact bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return new(big.Rat), false
	}
	mant := s[start:i]
	if len(strings.TrimLeft(strings.TrimLeft(mant, "+-"), "0.")) > maxKeyDigits {
		return nil, false
	}
	exp := ""
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j && k-j <= 4 {
			exp, i = s[i:k], k
		}
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(mant, "+") + exp)
	if !ok {
		return new(big.Rat), false
	}
	rest := strings.TrimRight(s[i:], " ")
	return r, rest == "" && exp == ""
}

// decimalKey reads a DECIMAL(p,s) key: the canonical text is the value
// with exactly s fractional digits, as MariaDB prints it ("2.50").
func decimalKey(col *tabledef.Column, v parser.Value, write bool) (string, keyState, string) {
	var r *big.Rat
	switch v.Kind {
	case parser.ValInt, parser.ValDecimal:
		x, ok := new(big.Rat).SetString(v.Text)
		if !ok {
			return "", keyUnknown, "not a number"
		}
		r = x
	case parser.ValFloat:
		if !write {
			return "", keyUnknown, "a DECIMAL compared with a double"
		}
		x, ok := new(big.Rat).SetString(v.Text) // the double's shortest form, as MariaDB converts it
		if !ok {
			return "", keyUnknown, "not a number"
		}
		r = x
	case parser.ValString:
		x, exact := numberPrefix(v.Text)
		if x == nil {
			return "", keyUnknown, "a number of more than 80 digits"
		}
		if !write && (!exact || significantDigits(v.Text) > 15) {
			// Compared as doubles: exact only for short, clean numbers.
			return "", keyUnknown, "a DECIMAL compared with a string"
		}
		r = x
	case parser.ValHex:
		if len(v.Text) > 8 {
			return "", keyUnknown, "a hexadecimal literal longer than 8 bytes"
		}
		r = new(big.Rat).SetInt(new(big.Int).SetBytes([]byte(v.Text)))
	default:
		return "", keyUnknown, "not a number"
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(col.Scale)), nil)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	if !write && !scaled.IsInt() {
		return "", keyNone, "" // more digits than the column holds: no stored value
	}
	n := roundRat(scaled, false)
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(col.Precision, 1))), nil)
	if new(big.Int).Abs(n).Cmp(limit) >= 0 {
		if !write {
			return "", keyNone, ""
		}
		n = new(big.Int).Sub(limit, big.NewInt(1)) // clipped to 99…9.99
		if r.Sign() < 0 {
			n.Neg(n)
		}
	}
	if col.Unsigned && n.Sign() < 0 {
		if !write {
			return "", keyNone, ""
		}
		n = new(big.Int)
	}
	return new(big.Rat).SetFrac(n, scale).FloatString(col.Scale), keyOK, ""
}

func significantDigits(s string) int {
	n := 0
	for _, c := range strings.TrimLeft(strings.TrimSpace(s), "+-0.") {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

// timeKey reads a DATETIME/TIMESTAMP/DATE key: the canonical text is the
// value as MariaDB prints it ('2026-11-27 10:30:00', with the column's
// fractional digits; a DATE without a time).
//
// round: the session's sql_mode has TIME_ROUND_FRACTIONAL, with which
// MariaDB stores extra fractional digits rounded instead of truncated.
func timeKey(col *tabledef.Column, v parser.Value, write, round bool) (string, keyState, string) {
	if v.Kind != parser.ValString && v.Kind != parser.ValInt && v.Kind != parser.ValDecimal {
		return "", keyUnknown, "not a date and time literal"
	}
	if shard.IsZeroDatetime(v.Text) {
		return zeroText(col), keyOK, ""
	}
	t, frac, err := shard.ParseMariaDBDatetime(v.Text)
	if err != nil {
		return "", keyUnknown, err.Error()
	}
	fsp := col.FSP
	if col.DataType == "date" {
		if !write && (t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || frac > 0) {
			return "", keyUnknown, "a time of day compared with a DATE"
		}
		return t.Format("2006-01-02"), keyOK, ""
	}
	// Fractional digits beyond the column's are truncated when stored
	// (without TIME_ROUND_FRACTIONAL); compared, they make a different
	// value, which the proxy does not try to decide.
	if !write && frac > 0 && t.Nanosecond()%pow10(9-fsp) != 0 {
		return "", keyUnknown, "more fractional digits than the column holds"
	}
	if round && write {
		t = t.Round(time.Duration(pow10(9 - fsp)))
	} else {
		t = t.Truncate(time.Duration(pow10(9 - fsp)))
	}
	layout := "2006-01-02 15:04:05"
	if fsp > 0 {
		layout += "." + strings.Repeat("0", fsp)
	}
	return t.Format(layout), keyOK, ""
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

func zeroText(col *tabledef.Column) string {
	if col.DataType == "date" {
		return "0000-00-00"
	}
	s := "0000-00-00 00:00:00"
	if col.FSP > 0 {
		s += "." + strings.Repeat("0", col.FSP)
	}
	return s
}

// stringKey: the collation's comparison key (collate.Key), so values the
// collation holds equal hash alike. A _bin key without trailing spaces
// is its own text, as before.
func stringKey(col *tabledef.Column, v parser.Value, conn string, write bool) (string, keyState, string) {
	c, ok := collate.Lookup(col.Collation)
	if !ok {
		return "", keyUnknown, fmt.Sprintf("collation %s is not one the proxy compares by", col.Collation)
	}
	var runes []rune
	switch v.Kind {
	case parser.ValString, parser.ValHex:
		cs := v.Charset
		switch {
		case v.Kind == parser.ValHex, cs == "binary":
			cs = c.Charset // bytes read in the column's character set
		case cs == "":
			cs = conn
		}
		runes, ok = collate.Decode(cs, []byte(v.Text))
		if !ok {
			return "", keyUnknown, fmt.Sprintf("text in character set %s the proxy cannot read", cs)
		}
	case parser.ValInt, parser.ValDecimal, parser.ValFloat:
		if !write {
			// A string column compared with a number compares as
			// doubles: '2', '2.0' and ' 2' all equal 2.
			return "", keyUnknown, "a string column compared with a number"
		}
		runes = []rune(v.Text)
	default:
		return "", keyUnknown, "not a string"
	}
	if col.CharLength > 0 && int64(len(runes)) > col.CharLength {
		if !write {
			// Longer than the column: no stored value has it, unless
			// the excess is trailing spaces (PAD SPACE).
			if c.PadSpace && strings.TrimRight(string(runes[col.CharLength:]), " ") == "" {
				runes = runes[:col.CharLength]
			} else {
				return "", keyNone, ""
			}
		} else {
			runes = runes[:col.CharLength] // stored truncated (or refused in strict mode)
		}
	}
	key, ok := c.Key(runes)
	if !ok {
		return "", keyUnknown, fmt.Sprintf("a character that %s cannot hold", col.Collation)
	}
	return string(key), keyOK, ""
}

// bytesKey: binary strings compare byte by byte; BINARY(n) values are
// padded with zero bytes to n.
func bytesKey(col *tabledef.Column, v parser.Value, write bool) (string, keyState, string) {
	var b string
	switch v.Kind {
	case parser.ValString, parser.ValHex:
		b = v.Text
	case parser.ValInt, parser.ValDecimal, parser.ValFloat:
		if !write {
			return "", keyUnknown, "a binary column compared with a number"
		}
		b = v.Text
	default:
		return "", keyUnknown, "not a string"
	}
	if col.DataType == "binary" && col.CharLength > 0 {
		n := int(col.CharLength)
		switch {
		case len(b) < n:
			if !write {
				return "", keyNone, "" // 'ab' never equals BINARY(4) 'ab\0\0'
			}
			b += strings.Repeat("\x00", n-len(b))
		case len(b) > n:
			if !write {
				return "", keyNone, ""
			}
			b = b[:n]
		}
	}
	return b, keyOK, ""
}

// hourOf is the hourly bucket of a literal for an hour column: the zero
// date's bucket, or YYYYMMDDHH of the value as written. Without a known
// definition the column is read as a DATETIME.
func hourOf(v parser.Value) (string, error) {
	if v.Kind != parser.ValString && v.Kind != parser.ValInt && v.Kind != parser.ValDecimal {
		return "", fmt.Errorf("%q is not a DATETIME value shardgate can place in an hourly bucket", v.Text)
	}
	return shard.Bucket(v.Text)
}

// storedHourOf is hourOf for a written value: under TIME_ROUND_FRACTIONAL
// MariaDB rounds the fractional seconds the column (col, when known)
// cannot hold, which can carry '10:59:59.9' into the 11 o'clock bucket.
func storedHourOf(col *tabledef.Column, v parser.Value, round bool) (string, error) {
	b, err := hourOf(v)
	if err != nil || !round || b == shard.ZeroBucket {
		return b, err
	}
	t, _, err := shard.ParseMariaDBDatetime(v.Text)
	if err != nil {
		return "", err
	}
	fsp := 0
	if col != nil {
		fsp = col.FSP
	}
	return t.Round(time.Duration(pow10(9 - fsp))).Format("2006010215"), nil
}
