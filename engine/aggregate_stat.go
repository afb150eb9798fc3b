package engine

import (
	"math"
	"math/big"
	"strconv"
)

// Aggregates merged from per-shard partials of their own kind: the bitwise
// ones from the shards' BIT_AND/BIT_OR/BIT_XOR, the statistical ones from
// each shard's count, sum and population variance (Chan et al.'s parallel
// formula).
const (
	AggBitAnd = "bit_and"
	AggBitOr  = "bit_or"
	AggBitXor = "bit_xor"
	// STD, STDDEV and STDDEV_POP; STDDEV_SAMP; VARIANCE and VAR_POP;
	// VAR_SAMP. H is [the aggregate itself (a slot the merged value is
	// written into, whose column definition is the shard's), COUNT(x),
	// SUM(x), VAR_POP(x) + 0e0 (a double at full precision: VAR_POP of an
	// exact x is printed with 4 decimals more than x has, too few to add)].
	AggStdPop  = "stddev_pop"
	AggStdSamp = "stddev_samp"
	AggVarPop  = "var_pop"
	AggVarSamp = "var_samp"
)

func isBitAgg(kind string) bool { return kind == AggBitAnd || kind == AggBitOr || kind == AggBitXor }

func isStatAgg(kind string) bool {
	return kind == AggStdPop || kind == AggStdSamp || kind == AggVarPop || kind == AggVarSamp
}

// addBits merges one shard's BIT_AND/OR/XOR (an unsigned 64-bit integer,
// never NULL: over no rows it is the operation's identity).
func (st *aggState) addBits(kind string, v []byte) {
	n, _ := strconv.ParseUint(string(v), 10, 64)
	if !st.any {
		st.any, st.bits = true, n
		return
	}
	switch kind {
	case AggBitAnd:
		st.bits &= n
	case AggBitOr:
		st.bits |= n
	default:
		st.bits ^= n
	}
}

// bitsText is the merged value: over no rows at all BIT_AND has every bit
// set (18446744073709551615), BIT_OR and BIT_XOR none, as MariaDB.
func (st *aggState) bitsText(kind string) []byte {
	if !st.any && kind == AggBitAnd {
		return []byte(strconv.FormatUint(math.MaxUint64, 10))
	}
	return []byte(strconv.FormatUint(st.bits, 10))
}

// addStat merges one partial of a statistical aggregate: n values with sum
// s and population variance v. An exact x (integers, decimals: its SUM is
// a DECIMAL) keeps the sum and Σ s²/n exact, so that the spread between
// the partials' means is computed without cancellation; a double x merges
// means and M2 pairwise in doubles (Chan et al.), which is stable too.
func (st *aggState) addStat(kind valueKind, n int64, s, v []byte) {
	if n == 0 {
		return
	}
	vp, _ := strconv.ParseFloat(string(v), 64)
	m2 := vp * float64(n)
	if kind == kindFloat {
		sum, _ := strconv.ParseFloat(string(s), 64)
		mean := sum / float64(n)
		if st.count == 0 {
			st.mean, st.m2 = mean, m2
		} else {
			tot := float64(st.count + n)
			d := mean - st.mean
			st.mean += d * float64(n) / tot
			st.m2 += m2 + d*d*float64(st.count)*float64(n)/tot
		}
		st.count += n
		return
	}
	if st.sum == nil {
		st.sum, st.sq = new(big.Rat), new(big.Rat)
	}
	r := ratOf(s)
	st.sum.Add(st.sum, r)
	sq := new(big.Rat).Mul(r, r)
	st.sq.Add(st.sq, sq.Quo(sq, big.NewRat(n, 1)))
	st.m2 += m2
	st.count += n
}

// statValue is the merged variance or standard deviation; ok is false for
// NULL (no values; one value for the sample forms).
func (st *aggState) statValue(kind string, exact bool) (float64, bool) {
	n := st.count
	if n == 0 || (n == 1 && (kind == AggStdSamp || kind == AggVarSamp)) {
		return 0, false
	}
	m2 := st.m2
	if exact {
		// Σ n_i (mean_i - mean)² = Σ s_i²/n_i - s²/n, exactly.
		between := new(big.Rat).Mul(st.sum, st.sum)
		between.Quo(between, big.NewRat(n, 1))
		between.Sub(st.sq, between)
		f, _ := between.Float64()
		m2 += f
	}
	m2 = max(m2, 0)
	div := float64(n)
	if kind == AggStdSamp || kind == AggVarSamp {
		div = float64(n - 1)
	}
	v := m2 / div
	if kind == AggStdPop || kind == AggStdSamp {
		v = math.Sqrt(v)
	}
	return v, true
}
