package engine

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/wire"
)

// AggGroupConcat is GROUP_CONCAT over groups that span shards. The shards
// group by the GROUP BY keys and also by the element (its arguments, their
// bytes for a non-DISTINCT one, and the ORDER BY expressions), so each of
// their rows is one distinct element of a group with how many rows gave
// it; the proxy holds a group's elements (reserved from the statement's
// memory account), sorts them, drops duplicates for DISTINCT and joins
// them, cut at group_concat_max_len as MariaDB cuts.
const AggGroupConcat = "group_concat"

// ConcatSpec says where a GROUP_CONCAT's element helpers are (offsets
// among the hidden columns; AggSpec.H is [the slot for the merged value]).
type ConcatSpec struct {
	Distinct bool
	// Order sorts a group's elements (the ORDER BY inside GROUP_CONCAT);
	// DistinctBy compares them for DISTINCT (each argument's value and
	// weight), and also orders a DISTINCT one without ORDER BY, as
	// MariaDB's (its elements come out of a tree sorted by them).
	Order, DistinctBy []SortKey
	// MaxLen is @@group_concat_max_len; Count how many rows gave the
	// element; Elem is CONCAT(args) (NULL: some argument is NULL, no
	// element) as the client reads it (Results: @@character_set_results)
	// and Raw the same CONVERT(… USING binary), its bytes in the
	// result's own character set (Charset: CHARSET(CONCAT(args))), which
	// MariaDB counts towards the maximum and cuts at a whole character;
	// ElemSep and RawSep are CONCAT(args, separator) in both forms, so the
	// separator is what follows the element in each.
	MaxLen, Count, Elem, Raw, ElemSep, RawSep, Charset, Results int
}

// concatCmp are a GROUP_CONCAT's comparers over the input's columns.
type concatCmp struct{ order, distinct comparer }

// holdElement keeps r as one of the elements of GROUP_CONCAT a in st (a
// group's, or a WITH ROLLUP run's: a row can be held by both), reserving
// what the row takes from the statement's account each time.
func (ar *aggRows) holdElement(st *aggState, a AggSpec, r *Row) error {
	if r.Nulls[ar.base+a.Concat.Elem] {
		return nil // MariaDB skips rows where an argument is NULL
	}
	// The row, and its pointer here and in the copies concat sorts (and
	// an index and a flag each for DISTINCT).
	need := r.Memory() + 32
	if err := ar.vc.Memory().Grow(need); err != nil {
		return concatMemoryError(err)
	}
	ar.held += need
	st.held += need
	st.elems = append(st.elems, r)
	return nil
}

func concatMemoryError(err error) error {
	return MemoryError(mysql.ER_OUT_OF_RESOURCES, "GROUP_CONCAT over groups merged from several shards",
		"add a shard-key condition, group by the shard key", err)
}

// concat joins a group's elements of GROUP_CONCAT i as MariaDB would, nil
// when there are none (NULL).
func (ar *aggRows) concat(states []aggState, i int) ([]byte, error) {
	a, st := ar.spec.Aggs[i], &states[i]
	c, cmps := a.Concat, ar.concatCmps[i]
	elems := st.elems
	if len(elems) == 0 {
		return nil, nil
	}
	elems = slices.Clone(elems)
	if len(c.Order) > 0 {
		slices.SortStableFunc(elems, cmps.order.compare)
	}
	if c.Distinct {
		// Of elements equal by collation the first by the ORDER BY stays
		// (MariaDB keeps the first it reads, which for ORDER BY id is
		// the same); without ORDER BY they come out sorted by value, as
		// from MariaDB's tree of distinct values.
		byValue := make([]int, len(elems))
		for i := range byValue {
			byValue[i] = i
		}
		slices.SortStableFunc(byValue, func(x, y int) int { return cmps.distinct.compare(elems[x], elems[y]) })
		keep := make([]bool, len(elems))
		for i, e := range byValue {
			keep[e] = i == 0 || cmps.distinct.compare(elems[byValue[i-1]], elems[e]) != 0
		}
		var kept []*Row
		if len(c.Order) > 0 {
			for i, e := range elems {
				if keep[i] {
					kept = append(kept, e)
				}
			}
		} else {
			for _, e := range byValue {
				if keep[e] {
					kept = append(kept, elems[e])
				}
			}
		}
		elems = kept
	}
	b := ar.base
	first := elems[0]
	maxLen, _ := strconv.ParseInt(string(first.Vals[b+c.MaxLen]), 10, 64)
	internal := string(first.Vals[b+c.Charset])
	results := ""
	if !first.Nulls[b+c.Results] {
		results = string(first.Vals[b+c.Results])
	}
	j := &joiner{acct: ar.vc.Memory(), max: maxLen, internal: internal, results: results}
	for n, e := range elems {
		elem, raw := e.Vals[b+c.Elem], e.Vals[b+c.Raw]
		withSep, rawWithSep := e.Vals[b+c.ElemSep], e.Vals[b+c.RawSep]
		sep, rawSep := withSep[min(len(elem), len(withSep)):], rawWithSep[min(len(raw), len(rawWithSep)):]
		times := int64(1)
		if !c.Distinct && len(raw)+len(rawSep) > 0 {
			// (An empty element with an empty separator adds nothing
			// however often it comes.)
			times, _ = strconv.ParseInt(string(e.Vals[b+c.Count]), 10, 64)
		}
		for k := int64(0); k < times && !j.cut; k++ {
			var err error
			if n > 0 || k > 0 {
				err = j.add(sep, rawSep)
			}
			if err == nil {
				err = j.add(elem, raw)
			}
			if err != nil {
				ar.vc.Memory().Shrink(j.held)
				return nil, err
			}
		}
		if j.cut {
			break
		}
	}
	ar.outHeld += j.held
	if j.cut {
		// MariaDB numbers the row it read when the value was cut, in its
		// own scan order, which rows merged from several shards do not
		// have: the proxy gives the group's number in the result.
		ar.vc.Warn("Warning", mysql.ER_CUT_VALUE_GROUP_CONCAT, fmt.Sprintf("Row %d was cut by GROUP_CONCAT()", ar.groups))
	}
	if j.out == nil {
		return []byte{}, nil // elements that are all empty strings: '' (not NULL)
	}
	return j.out, nil
}

// joiner builds one GROUP_CONCAT value within max bytes of the result's
// own character set (internal), the text being in the client's (results;
// "" when the server does not convert).
type joiner struct {
	acct              *memory.Account
	held              int64
	max, used         int64
	internal, results string
	out               []byte
	cut               bool
}

// add appends part (raw: the same in the internal character set), or as
// much of it as fits, cut at a character boundary as MariaDB cuts.
func (j *joiner) add(part, raw []byte) error {
	if j.cut {
		return nil
	}
	n := int64(len(raw))
	if j.used+n > j.max {
		var ok bool
		if part, ok = cutText(part, raw, int(j.max-j.used), j.internal, j.results); !ok {
			return wire.Errorf(mysql.ER_NOT_SUPPORTED_YET, "shardgate: GROUP_CONCAT over groups merged from several shards is cut at group_concat_max_len inside text in %s sent as %s, which this version does not cut: raise group_concat_max_len or SET NAMES utf8mb4", j.internal, j.results)
		}
		j.cut = true
	}
	j.used += n
	if len(j.out)+len(part) > cap(j.out) {
		newCap := max(2*cap(j.out), len(j.out)+len(part), 64)
		if err := j.acct.Grow(memory.Bytes(newCap) - memory.Bytes(cap(j.out))); err != nil {
			return concatMemoryError(err)
		}
		j.held += memory.Bytes(newCap) - memory.Bytes(cap(j.out))
		grown := make([]byte, len(j.out), newCap)
		copy(grown, j.out)
		j.out = grown
	}
	j.out = append(j.out, part...)
	return nil
}

// singleByte are character sets of one byte per character.
var singleByte = map[string]bool{"latin1": true, "latin2": true, "latin5": true, "latin7": true, "ascii": true, "binary": true,
	"cp1250": true, "cp1251": true, "cp1256": true, "cp1257": true, "cp850": true, "cp852": true, "cp866": true, "dec8": true,
	"greek": true, "hebrew": true, "hp8": true, "keybcs2": true, "koi8r": true, "koi8u": true, "macce": true, "macroman": true,
	"swe7": true, "tis620": true, "armscii8": true, "geostd8": true}

// charWidth is the length of the character b starts with in character
// set cs, 0 when the proxy does not know cs.
func charWidth(cs string, b []byte) int {
	switch {
	case singleByte[cs]:
		return 1
	case cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8":
		switch c := b[0]; {
		case c < 0xC0:
			return 1
		case c < 0xE0:
			return 2
		case c < 0xF0:
			return 3
		}
		return 4
	case cs == "gbk" || cs == "big5" || cs == "gb2312" || cs == "sjis" || cs == "cp932":
		if b[0] >= 0x81 && len(b) > 1 {
			return 2
		}
		return 1
	}
	return 0
}

// cutText is the part of text (as the client reads it, in character set
// results; "" when the server does not convert) that MariaDB keeps when it
// cuts raw (the same text in the result's own character set, internal) at
// budget bytes: the whole characters that fit. The server converts
// character by character (one it cannot convert becomes '?'), so the
// client keeps as many characters as fit in raw. ok is false for a
// character set the proxy does not know.
func cutText(text, raw []byte, budget int, internal, results string) ([]byte, bool) {
	chars, k := 0, 0
	for k < len(raw) {
		w := charWidth(internal, raw[k:])
		if w == 0 {
			return nil, false
		}
		if k+w > budget {
			break
		}
		k += w
		chars++
	}
	if results == "" || results == "binary" || results == internal {
		return text[:min(k, len(text))], true
	}
	end := 0
	for ; chars > 0 && end < len(text); chars-- {
		w := charWidth(results, text[end:])
		if w == 0 {
			return nil, false
		}
		end += w
	}
	return text[:min(end, len(text))], true
}
