package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// Route sends one SQL text to one cluster. As the root of a plan it
// streams the backend's answer to the client packet by packet; under a
// merge it is one input's rows.
type Route struct {
	Cluster string
	// Tables are the physical tables the SQL touches, for EXPLAIN.
	Tables []string
	SQL    string
	// Replica: the statement only reads and may run on a replica.
	Replica bool
	// Logical maps physical table names to logical ones in the column
	// definitions of the answer.
	Logical map[string]string
}

func (r *Route) Inputs() []Primitive { return nil }

func (r *Route) Describe() string {
	tables := ""
	if len(r.Tables) > 0 {
		tables = " [" + strings.Join(r.Tables, ",") + "]"
	}
	return fmt.Sprintf("Route %s%s: %s", r.Cluster, tables, r.SQL)
}

// Execute streams the answer through. A read that broke before the client
// saw a byte runs again on the next choice of server.
func (r *Route) Execute(vc Cursor, w ResultWriter) error {
	for attempt := 0; ; attempt++ {
		c, err := vc.Conn(r.Cluster, r.Replica)
		if err != nil {
			return err
		}
		// The writer and the outcome escape (interfaces): one allocation.
		ex := &routeExchange{cw: countingWriter{ResultWriter: w}}
		cw := &ex.cw
		if err = c.SendQuery(r.SQL); err == nil {
			ex.out, err = c.Stream(cw, r.rewriter())
		}
		if err == nil {
			if ex.out.Err == nil {
				vc.Succeeded(ex.out.OK)
			}
			vc.Release(c, &ex.out, nil)
			return w.Flush()
		}
		if Classify(err) == FaultBroken && r.Replica && cw.packets == 0 && vc.Retry(c, attempt) {
			continue
		}
		if cw.packets > 0 && Classify(err) == FaultBroken {
			err = backend.Partial(err)
		}
		return vc.Lost(c, err)
	}
}

// routeExchange is one attempt's writer and outcome.
type routeExchange struct {
	cw  countingWriter
	out backend.Outcome
}

// LostConnection is what the client hears when an exchange with a backend
// broke (err itself when it is not a broken connection): that the
// statement was not sent when the proxy knows it was not, else that its
// outcome is unknown — never that a statement that may have run did not.
func LostConnection(c Conn, cluster string, err error) error {
	if Classify(err) != FaultBroken {
		return err
	}
	return backend.Lost(serverName(c, cluster), err)
}

// serverName names c's server in messages: "primary s1 (127.0.0.1:3330)".
func serverName(c Conn, cluster string) string {
	switch d := c.(type) {
	case interface{ Describe() string }:
		return d.Describe()
	case interface{ Addr() string }:
		return backend.Describe("server", cluster, d.Addr())
	}
	return "cluster " + cluster
}

// rewriter shows logical table names in column definitions.
func (r *Route) rewriter() func([]byte) []byte {
	if len(r.Logical) == 0 {
		return nil
	}
	return func(def []byte) []byte {
		// A new slice each: a header's definitions are kept together.
		if out, changed := wire.RenameColumnTables(nil, def, r.Logical); changed {
			return out
		}
		return def
	}
}

// Open sends the SQL and returns its rows; the header is read on first
// use, so several routes opened one after another run at once.
func (r *Route) Open(vc Cursor) (Rows, error) {
	return r.open(vc, 0)
}

func (r *Route) open(vc Cursor, src int) (*routeRows, error) {
	rr := &routeRows{vc: vc, r: r, src: src}
	if err := rr.send(); err != nil {
		return nil, err
	}
	return rr, nil
}

// send borrows a connection and sends the statement on it; a read whose
// send broke runs on the next choice of server.
func (rr *routeRows) send() error {
	for ; ; rr.attempt++ {
		c, err := rr.vc.Conn(rr.r.Cluster, rr.r.Replica)
		if err != nil {
			return err
		}
		err = c.SendQuery(rr.r.SQL)
		if err == nil {
			rr.c = c
			return nil
		}
		if rr.r.Replica && rr.vc.Retry(c, rr.attempt) {
			continue
		}
		return rr.vc.Lost(c, err)
	}
}

// recover decides what a failed read of the input means. A connection
// that broke (a server killed, or cut when it left rotation) before any
// of the input's rows was used is replaced: the statement runs again on
// the next choice of server, and when the header was already read, the
// new one (the same statement's) is read and dropped. recover returns nil
// when the input goes on, else the error that ends it, noted with fail
// (or, when no connection could be had, with none left to give back).
func (rr *routeRows) recover(err error) error {
	for Classify(err) == FaultBroken && rr.r.Replica && rr.rows == 0 && rr.vc.Retry(rr.c, rr.attempt) {
		rr.attempt++
		rr.c = nil // Retry dropped it
		if err = rr.send(); err != nil {
			rr.broken = err
			return err
		}
		if !rr.read {
			return nil
		}
		if _, err = rr.c.ReadHeader(); err == nil {
			return nil
		}
	}
	if rr.rows > 0 && Classify(err) == FaultBroken {
		err = backend.Partial(err)
	}
	return rr.fail(err)
}

// routeRows reads one backend's result set.
type routeRows struct {
	vc Cursor
	// c is the connection, nil when a retry found none.
	c       Conn
	r       *Route
	src     int
	attempt int // of Retry, counting from 0
	rows    int // rows returned
	header  [][]byte
	read    bool           // header read
	eof     bool           // the result has ended: the connection can serve again
	broken  error          // the connection failed
	refused *mysql.MyError // the server's error packet that ended the result
	status  uint16         // of the final EOF
	// warnings is the final EOF's warning count.
	warnings uint16
	closed   bool
}

// fail notes an error from the connection and returns it.
func (rr *routeRows) fail(err error) error {
	if Classify(err) == FaultServer {
		rr.eof = true // an error packet ends the result
		errors.As(err, &rr.refused)
	} else {
		rr.broken = err
	}
	return err
}

func (rr *routeRows) Header() ([][]byte, error) {
	if rr.read {
		return rr.header, nil
	}
	if rr.broken != nil || rr.eof {
		return nil, fmt.Errorf("result already ended")
	}
	h, err := rr.c.ReadHeader()
	if err != nil {
		if err := rr.recover(err); err != nil {
			return nil, err
		}
		return rr.Header()
	}
	if rw := rr.r.rewriter(); rw != nil {
		for i := range h {
			h[i] = rw(h[i])
		}
	}
	rr.header, rr.read = h, true
	return h, nil
}

func (rr *routeRows) Next() (*Row, error) {
	if !rr.read {
		if _, err := rr.Header(); err != nil {
			return nil, err
		}
	}
	if rr.eof {
		return nil, nil
	}
	p, eof, status, err := rr.c.ReadRow()
	switch {
	case err != nil:
		if err := rr.recover(err); err != nil {
			return nil, err
		}
		return rr.Next()
	case eof:
		rr.eof, rr.status, rr.warnings = true, status, rr.c.Warnings()
		return nil, nil
	}
	rr.rows++
	return rawRow(p, rr.src), nil
}

// Close gives the connection back. A result not read to its end is read
// to its end when the statement succeeded (a shard's LIMIT bounds it), and
// abandoned (the connection dropped, the query killed) when it failed.
func (rr *routeRows) Close(err error) {
	if rr.closed {
		return
	}
	rr.closed = true
	if rr.c == nil {
		return // a retry found no connection: nothing to give back
	}
	if !rr.eof && rr.broken == nil && err == nil {
		for {
			if r, err := rr.Next(); err != nil || r == nil {
				break
			}
		}
	}
	switch {
	case rr.broken != nil:
		rr.vc.Release(rr.c, nil, rr.broken)
	case !rr.eof:
		rr.vc.Release(rr.c, nil, &backend.SinkError{Err: errAbandoned})
	case rr.refused != nil:
		rr.vc.Release(rr.c, &backend.Outcome{Err: rr.refused}, nil)
	default:
		rr.vc.Release(rr.c, &backend.Outcome{Status: rr.status, Warnings: rr.warnings}, nil)
	}
}

type abandonedError struct{}

func (abandonedError) Error() string {
	return "result abandoned: another input of the statement failed"
}

var errAbandoned error = abandonedError{}

// countingWriter tells whether any of a response reached the client.
type countingWriter struct {
	ResultWriter
	packets int
}

func (c *countingWriter) WritePacket(p []byte) error {
	c.packets++
	return c.ResultWriter.WritePacket(p)
}
