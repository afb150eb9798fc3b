// Package engine executes plans. A plan is a tree of small primitives: a
// Route sends one SQL text to one cluster, and the others combine what
// their inputs return (Concat, MergeSort, OrderedAggregate, Distinct,
// Filter, MemorySort, Limit, Trim), write to several tables (Fanout) or
// prepare what a write needs (EnsureBuckets). Plans are immutable: the
// planner builds them once, and any number of sessions may execute them.
//
// Primitives reach backends and the client session only through a Cursor,
// so each is unit-tested with a fake one and canned result packets.
package engine

import (
	"fmt"
	"strings"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/memory"
	"github.com/shardgate/shardgate/shard"
	"github.com/shardgate/shardgate/wire"
)

// ResultWriter is the client side: answers are written packet by packet
// and flushed once per response.
type ResultWriter interface {
	WritePacket(p []byte) error
	Flush() error
}

// Conn is one borrowed backend connection (*backend.Conn in production).
type Conn interface {
	Send(cmd byte, arg []byte) error
	// SendQuery is Send(COM_QUERY, sql) without copying sql.
	SendQuery(sql string) error
	// Stream forwards the whole response to the command just sent.
	Stream(dst backend.Sink, columns func([]byte) []byte) (backend.Outcome, error)
	ReadHeader() ([][]byte, error)
	ReadRow() (row []byte, eof bool, status uint16, err error)
	// Warnings is the warning count of the last result read with ReadRow.
	Warnings() uint16
	Query(sql string) (*backend.Result, wire.OK, error)
	Exec(sql string) (wire.OK, error)
}

// Cursor is what primitives know of the session running them.
type Cursor interface {
	// Conn borrows the connection a step on cluster runs on. replica: the
	// step only reads and may run on a replica (the session decides; inside
	// a transaction it is the transaction's own connection).
	Conn(cluster string, replica bool) (Conn, error)
	// Release gives c back. out, when not nil, is how the last statement
	// ended on c (its status flags, OK or error packet); err, when not nil,
	// is what broke the exchange (see Classify) and decides whether c is
	// kept.
	Release(c Conn, out *backend.Outcome, err error)
	// Lost gives back c after err (a broken connection or a client gone,
	// see Classify) ended the exchange, and returns what the client hears:
	// the session knows whether c held its transaction, in which case the
	// transaction is gone too and "not sent, safe to retry" would be a lie.
	Lost(c Conn, err error) error
	// Retry reports whether a read that broke on c before any byte reached
	// the client may run again elsewhere; it takes c's server out of
	// rotation and drops c. attempt counts from 0.
	Retry(c Conn, attempt int) bool
	// Sequential is true when every step must run on the session's one
	// connection, one after another (inside a transaction).
	Sequential() bool
	// Succeeded records, once per statement and before the connection that
	// ran it is released, that it succeeded: ok is the OK packet the client
	// gets (empty for rows). The session applies the plan's Effects.
	Succeeded(ok wire.OK)
	// Status is the server status to put in packets the proxy writes.
	Status() uint16
	// ScatterConcurrency is how many steps of a plain scatter read at once.
	ScatterConcurrency() int
	// EnsureBucket creates an hourly bucket's tables when missing.
	EnsureBucket(need BucketNeed) error
	// Memory is the statement's account of the memory budget: what a
	// primitive buffers beyond a row per input is reserved from it first
	// (nil accounts nothing). Everything it holds is given back when the
	// statement ends, however it ends.
	Memory() *memory.Account
	// Atomic is asked by a write with several steps before its first one.
	// A nil finish: the steps run one by one, each on its own. Otherwise
	// they run all or nothing (in the session's transaction, or in one of
	// the write's own), and finish is called once with how the steps went
	// (nil: every step succeeded); it returns what the client hears (nil:
	// the write stands). clusters are those the steps will run on when the
	// plan knows them before the first step (nil when rows decide), so
	// every branch is set up for a write that spans them from its start.
	Atomic(clusters []string) (finish func(err error) error, err error)
	// Warn adds a warning the proxy itself raises (level "Warning" or
	// "Note", a MariaDB code and message) to the statement's diagnostics,
	// beside the shards' own: SHOW WARNINGS and @@warning_count show it.
	Warn(level string, code uint16, message string)
	// WarningCount is how many warnings the statement has so far: the
	// proxy's own and those of the steps already released. A result the
	// proxy writes carries it in its final EOF, as a server's does.
	WarningCount() uint16
	// AssignSequence hands out values of a global sequence (key, start and
	// cache as the rules give them): one per slot that needs one (0 for
	// explicit slots, which move the sequence past their value).
	AssignSequence(key string, start, cache int64, slots []SequenceSlot) ([]int64, error)
}

// Primitive is one node of a plan.
type Primitive interface {
	// Execute runs the primitive as the root of a plan and writes the whole
	// answer to the client.
	Execute(vc Cursor, w ResultWriter) error
	// Inputs are the primitives this one reads from.
	Inputs() []Primitive
	// Describe is the one-line summary EXPLAIN SHARDGATE prints.
	Describe() string
}

// RowSource is a primitive whose answer is a result set that other
// primitives can read row by row.
type RowSource interface {
	Primitive
	Open(vc Cursor) (Rows, error)
}

// BucketNeed is an hourly bucket a write needs.
type BucketNeed struct {
	Schema string
	Table  *shard.Table
	Bucket string
}

// BucketMiss is an hourly table a statement may reach in buckets this
// proxy instance does not know to exist, though another instance may have
// created them: the session looks on the backends before planning.
type BucketMiss struct {
	Schema string
	Table  *shard.Table
	// Buckets are the unknown hours the statement names exactly; empty
	// means any hour (a range, or no condition on the hour column).
	Buckets []string
	// Fresh: the statement must reach every bucket that exists (DDL), so
	// it looks now, whenever the last look was.
	Fresh bool
}

// Plan is what one statement becomes.
type Plan struct {
	// Read: the statement only reads (SELECT, SHOW and the like), even if
	// it must run on a primary (FOR UPDATE).
	Read bool
	Root Primitive
	// Effects is what the statement leaves in the session when it succeeds.
	Effects Effects
}

// Effects lists what running a statement means for the session beyond its
// answer. The planner derives them from the statement, so execution never
// looks at the statement again.
type Effects struct {
	// CountsAsRead: counted as a read in the backend statistics.
	CountsAsRead bool
	// SetsInsertID: the OK packet's insert id becomes LAST_INSERT_ID().
	SetsInsertID bool
	// UsesLastInsertID: the connection must first be given the session's
	// LAST_INSERT_ID().
	UsesLastInsertID bool
	// UsesPrevResult: reads ROW_COUNT()/FOUND_ROWS() of the previous
	// statement's connection.
	UsesPrevResult bool
	// NamesNoTable: the statement names no table (COMMIT, SELECT 1,
	// FOUND_ROWS()), so it belongs on whatever connection the session is
	// pinned to, or used last, on any cluster.
	NamesNoTable bool
	// Connection state created by the statement that keeps the session on
	// its backend connection.
	TempTable, LockTables, UnlockTables, HoldsConnState, CalcFoundRows bool
	// AssignedUserVars are read back after the statement and carried.
	AssignedUserVars []string
	// ForgetBuckets are hourly tables dropped by the statement.
	ForgetBuckets []TableName
	// Hint is a routing comment: "primary", "replica" or "".
	Hint string
}

// TableName names a logical table of a schema.
type TableName struct{ Schema, Table string }

// String prints the plan the way EXPLAIN SHARDGATE shows it: a summary
// line, then one line per bucket to ensure and per backend step.
func (p *Plan) String() string {
	var b strings.Builder
	mode := "write"
	if p.Read {
		mode = "read"
	}
	var routes []*Route
	var ensure []BucketNeed
	var merge []string
	walk(p.Root, func(n Primitive) {
		switch n := n.(type) {
		case *Route:
			routes = append(routes, n)
		case *EnsureBuckets:
			ensure = append(ensure, n.Needs...)
		}
	})
	merge = mergeParts(p.Root, nil)
	summary := strings.Join(merge, "; ")
	if summary == "" {
		summary = "stream"
	}
	fmt.Fprintf(&b, "%s, %d step(s), merge: %s\n", mode, len(routes), summary)
	for _, e := range ensure {
		fmt.Fprintf(&b, "  ensure bucket %s.%s %s on %s\n", e.Schema, e.Table.Name, e.Bucket, e.Table.BucketCluster(e.Bucket))
	}
	for _, r := range routes {
		tables := ""
		if len(r.Tables) > 0 {
			tables = " [" + strings.Join(r.Tables, ",") + "]"
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", r.Cluster, tables, r.SQL)
	}
	return b.String()
}

// Tree prints the primitives, one per line, inputs indented.
func (p *Plan) Tree() string {
	var b strings.Builder
	var rec func(n Primitive, depth int)
	rec = func(n Primitive, depth int) {
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), n.Describe())
		for _, in := range n.Inputs() {
			rec(in, depth+1)
		}
	}
	rec(p.Root, 0)
	return b.String()
}

// Routes lists the backend steps of a plan in order.
func (p *Plan) Routes() []*Route {
	var out []*Route
	walk(p.Root, func(n Primitive) {
		if r, ok := n.(*Route); ok {
			out = append(out, r)
		}
	})
	return out
}

func walk(n Primitive, fn func(Primitive)) {
	fn(n)
	for _, in := range n.Inputs() {
		walk(in, fn)
	}
}

// mergeParts lists, bottom-up, how the primitives above the routes
// combine them: the "merge:" part of the summary line.
func mergeParts(n Primitive, out []string) []string {
	for _, in := range n.Inputs() {
		out = mergeParts(in, out)
	}
	if m, ok := n.(interface{ mergeSummary() string }); ok {
		if s := m.mergeSummary(); s != "" {
			out = append(out, s)
		}
	}
	return out
}
