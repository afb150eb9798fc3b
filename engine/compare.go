package engine

import (
	"bytes"
	"cmp"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// valueKind is how the values of a column compare.
type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindDecimal
	kindFloat
	kindTemporal
	kindTime
)

func kindOf(t byte) valueKind {
	switch t {
	case mysql.MYSQL_TYPE_TINY, mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_INT24, mysql.MYSQL_TYPE_YEAR, mysql.MYSQL_TYPE_BIT:
		return kindInt
	case mysql.MYSQL_TYPE_DECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL:
		return kindDecimal
	case mysql.MYSQL_TYPE_FLOAT, mysql.MYSQL_TYPE_DOUBLE:
		return kindFloat
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP, mysql.MYSQL_TYPE_NEWDATE,
		mysql.MYSQL_TYPE_DATETIME2, mysql.MYSQL_TYPE_TIMESTAMP2:
		return kindTemporal
	case mysql.MYSQL_TYPE_TIME, mysql.MYSQL_TYPE_TIME2:
		return kindTime
	}
	return kindString
}

func kindsOf(cols []wire.Column) []valueKind {
	out := make([]valueKind, len(cols))
	for i, c := range cols {
		out[i] = kindOf(c.Type)
	}
	return out
}

func ratOf(b []byte) *big.Rat {
	r, ok := new(big.Rat).SetString(string(b))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// timeSeconds reads a TIME value ([-]h:mm:ss[.frac]) as seconds.
func timeSeconds(b []byte) *big.Rat {
	s := string(b)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.SplitN(s, ":", 3)
	total := new(big.Rat)
	mult := []int64{3600, 60, 1}
	for i, p := range parts {
		v := ratOf([]byte(p))
		total.Add(total, v.Mul(v, big.NewRat(mult[i], 1)))
	}
	if neg {
		total.Neg(total)
	}
	return total
}

// compareValues orders two non-NULL values of one kind; w1, w2 are their
// weight strings, which order strings by the column's collation.
func compareValues(kind valueKind, v1, w1, v2, w2 []byte) int {
	switch kind {
	case kindString:
		return bytes.Compare(w1, w2)
	case kindInt:
		a, errA := strconv.ParseInt(string(v1), 10, 64)
		b, errB := strconv.ParseInt(string(v2), 10, 64)
		if errA == nil && errB == nil {
			return cmp.Compare(a, b)
		}
		return ratOf(v1).Cmp(ratOf(v2))
	case kindDecimal:
		return ratOf(v1).Cmp(ratOf(v2))
	case kindFloat:
		a, _ := strconv.ParseFloat(string(v1), 64)
		b, _ := strconv.ParseFloat(string(v2), 64)
		return cmp.Compare(a, b)
	case kindTime:
		return timeSeconds(v1).Cmp(timeSeconds(v2))
	}
	// Temporal values in MySQL's text form sort as text.
	return bytes.Compare(v1, v2)
}

// SortKey orders rows by one expression that every input returns twice,
// as its value and as WEIGHT_STRING(value), in helper columns: Value and
// Weight count from the first helper column.
type SortKey struct {
	Value, Weight int
	Desc          bool
}

// keyCmp compares rows on one sort key, by absolute column positions. NULL
// is lower than any value, as in MySQL: first ascending, last descending.
type keyCmp struct {
	v, w int
	kind valueKind
	desc bool
}

func (k keyCmp) cmp(a, b *Row) int {
	c := 0
	switch an, bn := a.Nulls[k.v], b.Nulls[k.v]; {
	case an && bn:
	case an:
		c = -1
	case bn:
		c = 1
	default:
		c = compareValues(k.kind, a.Vals[k.v], a.Vals[k.w], b.Vals[k.v], b.Vals[k.w])
	}
	if k.desc {
		return -c
	}
	return c
}

// comparer orders rows by several keys.
type comparer []keyCmp

// newComparer resolves keys against a header with hidden helper columns.
func newComparer(keys []SortKey, cols []wire.Column, hidden int) comparer {
	base := len(cols) - hidden
	out := make(comparer, len(keys))
	for i, k := range keys {
		v := base + k.Value
		out[i] = keyCmp{v: v, w: base + k.Weight, kind: kindOf(cols[v].Type), desc: k.Desc}
	}
	return out
}

func (c comparer) compare(a, b *Row) int {
	for _, k := range c {
		if d := k.cmp(a, b); d != 0 {
			return d
		}
	}
	return 0
}

// formatFloat writes a double the way MariaDB prints one (my_gcvt): the
// shortest digits that read back as the same double, in plain notation
// unless the decimal point would sit more than 15 places right of the
// first digit (with no fraction left) or 14 zeros left of it, where
// MariaDB writes an exponent without '+' or leading zeros: 1000000,
// 0.00001, 1e15, 1e-15 is 0.000000000000001, 1e-16.
func formatFloat(f float64) []byte {
	if f == 0 {
		return []byte("0") // -0 too, as MariaDB writes it
	}
	var out []byte
	if math.Signbit(f) {
		out = append(out, '-')
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±xx
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	decpt := x + 1 // digits before the decimal point
	n := len(digits)
	switch {
	case decpt < -14 || (decpt > 15 && n <= decpt):
		out = append(out, digits[0])
		if n > 1 {
			out = append(out, '.')
			out = append(out, digits[1:]...)
		}
		out = append(out, 'e')
		return strconv.AppendInt(out, int64(x), 10)
	case decpt <= 0:
		out = append(out, "0."...)
		out = append(out, strings.Repeat("0", -decpt)...)
		return append(out, digits...)
	case decpt < n:
		out = append(out, digits[:decpt]...)
		out = append(out, '.')
		return append(out, digits[decpt:]...)
	}
	out = append(out, digits...)
	return append(out, strings.Repeat("0", decpt-n)...)
}

func describeKeys(keys []SortKey) string {
	ks := make([]string, len(keys))
	for i, k := range keys {
		d := "asc"
		if k.Desc {
			d = "desc"
		}
		ks[i] = "h" + strconv.Itoa(k.Value) + " " + d
	}
	return strings.Join(ks, ", ")
}

func compareBytes(a, b []byte) int { return bytes.Compare(a, b) }
