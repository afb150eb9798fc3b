package engine

import (
	"errors"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// ShardExplain answers EXPLAIN of a statement over shards: each physical
// statement's own EXPLAIN (the Routes' SQL), one after another in route
// order, every row followed by two columns naming the cluster and the
// physical tables it is about. The servers' rows are passed on as they
// are (their table column names physical tables: that is what the plan
// is about; EXPLAIN SHARDGATE prints the proxy's own plan).
type ShardExplain struct {
	Routes []*Route
}

// The columns ShardExplain adds after the server's.
var explainColumns = []wire.Column{
	{Name: "shardgate_cluster", OrgName: "shardgate_cluster", Charset: 33, Length: 256 * 3, Type: mysql.MYSQL_TYPE_VAR_STRING},
	{Name: "shardgate_tables", OrgName: "shardgate_tables", Charset: 33, Length: 4096 * 3, Type: mysql.MYSQL_TYPE_VAR_STRING},
}

func (e *ShardExplain) Inputs() []Primitive { return routePrimitives(e.Routes) }

func (e *ShardExplain) Describe() string { return "ShardExplain" }

func (e *ShardExplain) mergeSummary() string {
	return "each shard's EXPLAIN, with its cluster and tables"
}

func (e *ShardExplain) Execute(vc Cursor, w ResultWriter) error { return writeRows(vc, w, e) }

// Open reads the routes one after another: an EXPLAIN is small, and one
// connection at a time is what a transaction allows.
func (e *ShardExplain) Open(vc Cursor) (Rows, error) {
	if len(e.Routes) == 0 {
		return nil, errors.New("no inputs")
	}
	er := &explainRows{vc: vc, routes: e.Routes}
	if err := er.advance(); err != nil {
		er.Close(err)
		return nil, err
	}
	return er, nil
}

type explainRows struct {
	vc     Cursor
	routes []*Route
	next   int
	cur    *routeRows
	width  int // the server's columns
	header [][]byte
	tag    [2][]byte // the current route's cluster and tables
}

// advance opens the next route.
func (er *explainRows) advance() error {
	r := er.routes[er.next]
	rr, err := r.open(er.vc, er.next)
	if err != nil {
		return err
	}
	er.cur, er.next = rr, er.next+1
	er.tag = [2][]byte{[]byte(r.Cluster), []byte(strings.Join(r.Tables, ","))}
	h, err := rr.Header()
	if err != nil {
		return err
	}
	if er.header == nil {
		er.width = len(h)
		er.header = append([][]byte(nil), h...)
		for _, c := range explainColumns {
			er.header = append(er.header, wire.AppendColumn(nil, c))
		}
	} else if len(h) != er.width {
		return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: the shards' EXPLAIN answers have different columns (%d and %d)", er.width, len(h))
	}
	return nil
}

func (er *explainRows) Header() ([][]byte, error) { return er.header, nil }

func (er *explainRows) Next() (*Row, error) {
	for er.cur != nil {
		r, err := er.cur.Next()
		if err != nil {
			return nil, err
		}
		if r != nil {
			if err := r.values(er.width); err != nil {
				return nil, err
			}
			out := &Row{Vals: make([][]byte, 0, er.width+2), Nulls: make([]bool, 0, er.width+2)}
			out.Vals = append(append(out.Vals, r.Vals...), er.tag[0], er.tag[1])
			out.Nulls = append(append(out.Nulls, r.Nulls...), false, false)
			return out, nil
		}
		er.cur.Close(nil)
		er.cur = nil
		if er.next < len(er.routes) {
			if err := er.advance(); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

func (er *explainRows) Close(err error) {
	if er.cur != nil {
		er.cur.Close(err)
		er.cur = nil
	}
}
