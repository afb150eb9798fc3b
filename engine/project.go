package engine

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// Project computes the select fields that are expressions over merged
// aggregates (SUM(a)/COUNT(*), ROUND(AVG(x), 2), MAX(a)-MIN(a), CASE WHEN
// COUNT(*) > 1 …): each shard computed the same expression over its own
// rows only, so its value is replaced with Expr evaluated over the merged
// row. The shard's column definition stays: MariaDB typed the expression,
// and the value is written in that type (a DECIMAL column's scale, an
// integer, a double as MariaDB prints one).
type Project struct {
	Input  RowSource
	Fields []ProjectField
	Hidden int
}

// ProjectField is one computed column.
type ProjectField struct {
	Index int
	Expr  Expr
	// Text is the expression as written, for EXPLAIN.
	Text string
}

func (p *Project) Inputs() []Primitive { return []Primitive{p.Input} }

func (p *Project) Describe() string {
	parts := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		parts[i] = fmt.Sprintf("%d: %s", f.Index, f.Text)
	}
	return "Project " + strings.Join(parts, ", ")
}

func (p *Project) mergeSummary() string {
	parts := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		parts[i] = f.Text
	}
	return "computes " + strings.Join(parts, ", ")
}

func (p *Project) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, p) }

func (p *Project) Open(vc Cursor) (Rows, error) {
	in, err := openInput(vc, p.Input)
	if err != nil {
		return nil, err
	}
	return &projectRows{Rows: in, p: p, cols: in.cols, env: in.env(p.Hidden)}, nil
}

type projectRows struct {
	Rows
	p    *Project
	cols []wire.Column
	env  *evalEnv
}

func (pr *projectRows) Next() (*Row, error) {
	r, err := pr.Rows.Next()
	if err != nil || r == nil {
		return r, err
	}
	if err := r.values(len(pr.cols)); err != nil {
		return nil, err
	}
	// Every field is evaluated before any is written: one field's
	// expression never reads another's computed value.
	out := make([][]byte, len(pr.p.Fields))
	for i, f := range pr.p.Fields {
		val := f.Expr.eval(r, pr.env)
		if val.bad != nil {
			return nil, val.bad
		}
		v, err := renderValue(val, pr.cols[f.Index], f.Text)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	r = &Row{Vals: append([][]byte(nil), r.Vals...), Nulls: append([]bool(nil), r.Nulls...), Src: r.Src, raw: r.raw}
	for i, f := range pr.p.Fields {
		r.Vals[f.Index], r.Nulls[f.Index] = out[i], out[i] == nil
	}
	return r, nil
}

// notFixedDec is the scale MariaDB gives a double whose decimals are not
// fixed (its NOT_FIXED_DEC).
const notFixedDec = 31

// Integer results MariaDB refuses to hold (1690), as it would have on the
// merged rows: a shard's own rows can stay in range where all of them do
// not (COUNT(*) * 5000000000000000000, MIN(u) - MAX(u) of an unsigned u).
var (
	maxSigned   = new(big.Int).SetUint64(math.MaxInt64)
	minSigned   = new(big.Int).Neg(new(big.Int).Add(maxSigned, big.NewInt(1)))
	maxUnsigned = new(big.Int).SetUint64(math.MaxUint64)
)

// unsignedZero drops the sign of a number written as zero (-0.00 from
// -0.001 at two places): MariaDB writes 0.00.
func unsignedZero(s string) []byte {
	if strings.HasPrefix(s, "-") && strings.Trim(s[1:], "0.") == "" {
		s = s[1:]
	}
	return []byte(s)
}

// renderValue writes v as MariaDB sends a value of column c in a text
// result (nil: NULL); text is the expression, for errors.
func renderValue(v value, c wire.Column, text string) ([]byte, error) {
	if v.null {
		return nil, nil
	}
	switch kindOf(c.Type) {
	case kindInt:
		if v.flt || !v.isNumber() {
			v = numValue(v.number())
		}
		n := halfAway(v.num)
		if c.Flags&mysql.UNSIGNED_FLAG != 0 {
			if n.Sign() < 0 || n.Cmp(maxUnsigned) > 0 {
				return nil, wire.Errorf(mysql.ER_DATA_OUT_OF_RANGE, "BIGINT UNSIGNED value is out of range in '%s'", text)
			}
		} else if n.Cmp(minSigned) < 0 || n.Cmp(maxSigned) > 0 {
			return nil, wire.Errorf(mysql.ER_DATA_OUT_OF_RANGE, "BIGINT value is out of range in '%s'", text)
		}
		return []byte(n.String()), nil
	case kindDecimal:
		return unsignedZero(v.number().FloatString(int(c.Decimals))), nil
	case kindFloat:
		f := v.float()
		if c.Decimals < notFixedDec {
			// A double with a fixed scale (ROUND(x, 2) of a double):
			// MariaDB prints that many decimals.
			return unsignedZero(strconv.FormatFloat(f, 'f', int(c.Decimals), 64)), nil
		}
		return formatFloat(f), nil
	}
	switch {
	case !v.isNumber():
		return v.str, nil
	case v.flt:
		return formatFloat(v.f), nil
	case v.num.IsInt():
		return []byte(v.num.Num().String()), nil
	}
	// A fraction in a column MariaDB typed as text (IF(c, 'x', SUM(d))):
	// its scale is not known here.
	return nil, wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: %s gives a fractional number in a text column on rows merged from several shards, which this version does not write", text)
}
