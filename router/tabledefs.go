package router

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/parser"
	"github.com/shardgate/shardgate/planner"
	"github.com/shardgate/shardgate/tabledef"
)

// Table definitions (package tabledef) are read from the backends when a
// statement needs one this snapshot does not hold: a sharded table's from
// its first physical table (an hourly table's template) on its cluster's
// primary, which is where DDL through the proxy lands first. They are
// forgotten when DDL on the table runs through the proxy, so the next
// statement reads them again. A definition that cannot be read is not
// stored: the statement plans without it (reads scatter, writes are
// refused with the reason) and the next one tries again.

const defsQuery = `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME,
 IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE,
 DATETIME_PRECISION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s
 ORDER BY ORDINAL_POSITION`

// errBusy: an optional definition was not read, every connection of the
// pool being busy.
var errBusy = errors.New("every connection is busy")

// readDefs reads one table's definition from need's physical table.
func readDefs(snap *Snapshot, need planner.DefNeed) ([]tabledef.Column, error) {
	cluster, ok := snap.Clusters[need.Cluster]
	if !ok {
		return nil, fmt.Errorf("no cluster %s", need.Cluster)
	}
	primary := cluster.Primary
	if !primary.Healthy() {
		return nil, fmt.Errorf("primary %s is out of rotation", primary.Addr)
	}
	var conn *backend.Conn
	var err error
	if need.Optional {
		// Never waited for: see backend.Pool.TryGet.
		if conn, err = primary.TryGet(false); err == nil && conn == nil {
			return nil, errBusy
		}
	} else {
		conn, err = primary.Get(false, 0)
	}
	if err != nil {
		return nil, err
	}
	res, _, err := conn.Query(fmt.Sprintf(defsQuery, parser.QuoteString(need.Schema), parser.QuoteString(need.Physical)))
	if engine.Classify(err) == engine.FaultBroken {
		primary.Discard(conn)
		return nil, err
	}
	primary.Put(conn)
	if err != nil {
		return nil, err
	}
	if len(res.Rows) == 0 {
		return nil, fmt.Errorf("table %s.%s not found on %s", need.Schema, need.Physical, need.Cluster)
	}
	return parseDefs(res.Rows), nil
}

// parseDefs reads information_schema.COLUMNS rows in defsQuery's order.
func parseDefs(rows [][]*string) []tabledef.Column {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	num := func(p *string) int64 {
		n, _ := strconv.ParseInt(str(p), 10, 64)
		return n
	}
	cols := make([]tabledef.Column, 0, len(rows))
	for _, r := range rows {
		if len(r) < 12 {
			continue
		}
		extra := strings.ToLower(str(r[7]))
		c := tabledef.Column{
			Name:          str(r[0]),
			DataType:      strings.ToLower(str(r[1])),
			ColumnType:    str(r[2]),
			Charset:       strings.ToLower(str(r[3])),
			Collation:     strings.ToLower(str(r[4])),
			Nullable:      str(r[5]) == "YES",
			Default:       r[6],
			AutoIncrement: strings.Contains(extra, "auto_increment"),
			Generated:     strings.Contains(extra, "virtual") || strings.Contains(extra, "stored") || strings.Contains(extra, "persistent"),
			CharLength:    num(r[8]),
			Precision:     int(num(r[9])),
			Scale:         int(num(r[10])),
			FSP:           int(num(r[11])),
		}
		c.Unsigned = strings.Contains(strings.ToLower(c.ColumnType), "unsigned")
		cols = append(cols, c)
	}
	return cols
}

// defsRetry is how long after a failed read of a definition statements
// go on without it before one reads it again.
const defsRetry = time.Second

// loadDefs reads the definitions a statement needs and stores those it
// could read. fresh: read even if a read failed just now (the statement
// failed for want of it).
func (s *Session) loadDefs(snap *Snapshot, needs []planner.DefNeed, fresh bool) {
	for _, n := range needs {
		now := time.Now()
		if !fresh && snap.Defs.FailedWithin(n.Schema, n.Table, now, defsRetry) {
			continue
		}
		gen := snap.Defs.Generation(n.Schema, n.Table)
		cols, err := readDefs(snap, n)
		if errors.Is(err, errBusy) {
			continue // an optional definition: read by a later statement
		}
		if err != nil {
			snap.Defs.Failed(n.Schema, n.Table, now)
			s.rt.Log.Debug("table definition not read", "schema", n.Schema, "table", n.Table, "cluster", n.Cluster, "err", err)
			continue
		}
		snap.Defs.Put(n.Schema, n.Table, gen, cols)
	}
}

// forgetDefs drops the definitions of the tables a DDL statement names,
// whatever its outcome (a failed ALTER may have changed some physical
// tables).
func forgetDefs(snap *Snapshot, st *parser.Statement, db string) {
	if st.Kind != parser.KindDDL {
		return
	}
	snap.forgetShapes()
	for _, t := range st.Tables {
		schema := t.Schema
		if schema == "" {
			schema = db
		}
		snap.Defs.Forget(schema, t.Name)
	}
}
