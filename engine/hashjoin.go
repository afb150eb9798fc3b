package engine

import (
	"fmt"
	"unsafe"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/memory"
)

// HashJoin joins two tables that no server holds together by reading each
// side once: the build side whole into a hash table keyed by its join
// columns, then the probe side as a stream, each probe row paired with the
// build rows of its key. Keys compare as MariaDB compares a = b (numbers
// by value, strings by the columns' collation, NULL never equal), as in
// LookupJoin, whose fields (Outer the driving, preserved side of a LEFT
// JOIN; Inner the other) and output it shares.
//
// The planner chooses it over LookupJoin where every batch of lookups
// would go to every physical table of the other side anyway (its join
// column is not its shard key and it is not pinned): each of those tables
// is then read once instead of once per batch. Which side is held follows
// the planner's cost rule (BuildOuter: the driving side, when it is the
// more filtered one). Every held row, with its key, is reserved from the
// statement's memory account (1041 naming statement_memory_limit beyond
// it). The build side is read to its end and closed before the probe side
// opens, so one statement never holds two streams of one cluster (inside
// a transaction every read shares the session's connection).
type HashJoin struct {
	Outer, Inner RowSource
	// BuildOuter: the driving side is held and the other side streams;
	// else the other side is held and the driving side streams (its rows
	// come out in its order).
	BuildOuter bool
	// OuterKeys and InnerKeys are the key columns of each equality, by
	// position in each side's columns.
	OuterKeys, InnerKeys []int
	// Left: a driving row that pairs with nothing comes out once, with
	// the other side's columns NULL.
	Left   bool
	Fields []JoinField
	// Collations, Meta, MetaFields, EmptyRow and On: as LookupJoin's.
	Collations []string
	// RawKeys: equality i's key columns are the string columns' own bytes
	// (CAST … AS BINARY, not converted to the client's character set),
	// compared by Collations[i] in its character set.
	RawKeys    []bool
	Meta       []*Route
	MetaFields [][]int
	EmptyRow   bool
	On         string
}

func (j *HashJoin) Inputs() []Primitive {
	return append([]Primitive{j.Outer, j.Inner}, routePrimitives(j.Meta)...)
}

func (j *HashJoin) kind() string {
	if j.Left {
		return "left"
	}
	return "inner"
}

func (j *HashJoin) built() string {
	if j.BuildOuter {
		return "driving side"
	}
	return "other side"
}

func (j *HashJoin) Describe() string {
	return fmt.Sprintf("HashJoin %s on %s: the %s is read once into a hash table (within statement_memory_limit), the other streams", j.kind(), j.On, j.built())
}

func (j *HashJoin) mergeSummary() string {
	return fmt.Sprintf("%s hash join on %s in the proxy (the %s held)", j.kind(), j.On, j.built())
}

func (j *HashJoin) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, j) }

func (j *HashJoin) Open(vc Cursor) (Rows, error) {
	// The definitions first, before any stream holds a connection.
	metaDefs, err := readMetaDefs(vc, j.Meta, j.MetaFields)
	if err != nil {
		return nil, err
	}
	hr := &hashRows{j: j, acct: vc.Memory()}
	buildSrc, probeSrc := j.Inner, j.Outer
	if j.BuildOuter {
		buildSrc, probeSrc = j.Outer, j.Inner
	}
	build, err := openInput(vc, buildSrc)
	if err != nil {
		return nil, err
	}
	// Held rows are reserved as they arrive; their keys once the other
	// side's definitions say how keys compare.
	if err := build.each(func(r *Row) error {
		m := r.Memory() + int64(unsafe.Sizeof(r))
		if err := hr.acct.Grow(m); err != nil {
			return hr.memoryError(err)
		}
		hr.held += m
		hr.rows = append(hr.rows, r)
		return nil
	}); err != nil {
		hr.Close(err)
		return nil, err
	}
	probe, err := openInput(vc, probeSrc)
	if err != nil {
		hr.Close(err)
		return nil, err
	}
	hr.probe = probe
	outer, inner := probe, build
	if j.BuildOuter {
		outer, inner = build, probe
	}
	spec := joinSpec{Fields: j.Fields, Left: j.Left, OuterKeys: j.OuterKeys, InnerKeys: j.InnerKeys, Collations: j.Collations, RawKeys: j.RawKeys}
	if hr.header, hr.keyFns, err = joinedColumns(spec, outer.header, outer.cols, inner.header, inner.cols, metaDefs); err != nil {
		hr.Close(err)
		return nil, err
	}
	buildKeys := j.InnerKeys
	if j.BuildOuter {
		buildKeys = j.OuterKeys
		hr.matched = make([]bool, len(hr.rows))
	}
	hr.table = make(map[string][]int)
	for i, r := range hr.rows {
		k, ok := compositeKey(hr.keyFns, r, buildKeys, j.BuildOuter)
		if !ok {
			continue // a NULL key pairs with nothing
		}
		// The key string and its place in the table.
		m := memory.Bytes(len(k)) + int64(unsafe.Sizeof(k)) + int64(unsafe.Sizeof(i))
		if _, seen := hr.table[k]; !seen {
			m += int64(unsafe.Sizeof([]int(nil)))
		}
		if err := hr.acct.Grow(m); err != nil {
			err = hr.memoryError(err)
			hr.Close(err)
			return nil, err
		}
		hr.held += m
		hr.table[k] = append(hr.table[k], i)
	}
	return hr, nil
}

// hashRows is an open hash join.
type hashRows struct {
	j      *HashJoin
	acct   *memory.Account
	held   int64
	rows   []*Row           // the build side
	table  map[string][]int // key → rows (in build order)
	probe  *input
	header [][]byte
	keyFns []keyFn
	// matched marks held driving rows that paired (BuildOuter, LEFT).
	matched []bool
	// probeRow is the probe row being paired, with the held rows of its
	// key (found) and the next of them to pair: joined rows are made one
	// at a time, however many held rows share a key.
	probeRow *Row
	found    []int
	next     int
	// unmatched is the next held driving row to check once the probe side
	// has ended (BuildOuter, LEFT).
	unmatched int
	done      bool
	emitted   int
}

func (hr *hashRows) memoryError(err error) error {
	what := "the other side of a hash join in the proxy, read whole into a hash table"
	if hr.j.BuildOuter {
		what = "the driving side of a hash join in the proxy, read whole into a hash table"
	}
	return MemoryError(mysql.ER_OUT_OF_RESOURCES, what, "narrow the join with conditions on its tables", err)
}

func (hr *hashRows) Header() ([][]byte, error) { return hr.header, nil }

func (hr *hashRows) Next() (*Row, error) {
	j := hr.j
	for {
		if hr.next < len(hr.found) {
			i := hr.found[hr.next]
			hr.next++
			hr.emitted++
			if j.BuildOuter {
				hr.matched[i] = true
				return joinedRow(j.Fields, hr.rows[i], hr.probeRow), nil
			}
			return joinedRow(j.Fields, hr.probeRow, hr.rows[i]), nil
		}
		if hr.done {
			if j.EmptyRow && hr.emitted == 0 {
				hr.emitted++
				n := len(j.Fields)
				return &Row{Vals: make([][]byte, n), Nulls: slicesRepeatTrue(n)}, nil
			}
			return nil, nil
		}
		if hr.probe != nil {
			r, err := hr.probe.Next()
			if err == nil && r != nil {
				err = r.values(len(hr.probe.cols))
			}
			if err != nil {
				return nil, err
			}
			if r != nil {
				if out := hr.pair(r); out != nil {
					hr.emitted++
					return out, nil
				}
				continue
			}
			hr.probe.Close(nil)
			hr.probe = nil
		}
		if j.BuildOuter && j.Left {
			// The held driving rows no probe row paired with, in their
			// order.
			for hr.unmatched < len(hr.rows) {
				i := hr.unmatched
				hr.unmatched++
				if !hr.matched[i] {
					hr.emitted++
					return joinedRow(j.Fields, hr.rows[i], nil), nil
				}
			}
		}
		hr.done = true
	}
}

// pair finds the held rows probe row r pairs with (Next makes the joined
// rows); a driving row that pairs with none is returned NULL-extended
// for a LEFT JOIN.
func (hr *hashRows) pair(r *Row) *Row {
	j := hr.j
	keys := j.OuterKeys
	if j.BuildOuter {
		keys = j.InnerKeys
	}
	hr.probeRow, hr.found, hr.next = r, nil, 0
	if k, ok := compositeKey(hr.keyFns, r, keys, !j.BuildOuter); ok {
		hr.found = hr.table[k]
	}
	if len(hr.found) == 0 && j.Left && !j.BuildOuter {
		return joinedRow(j.Fields, r, nil)
	}
	return nil
}

func (hr *hashRows) Close(err error) {
	if hr.probe != nil {
		hr.probe.Close(err)
		hr.probe = nil
	}
	hr.acct.Shrink(hr.held)
	hr.held = 0
	hr.rows, hr.table, hr.found, hr.matched, hr.probeRow = nil, nil, nil, nil, nil
}
