package backend

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// COM_SET_OPTION arguments (MYSQL_OPTION_MULTI_STATEMENTS_ON/OFF).
var (
	multiStatementsOn  = []byte{0, 0}
	multiStatementsOff = []byte{1, 0}
)

// ExecBatch runs statements that return no rows (the proxy's own rendered
// writes) in one round trip: multi-statements are switched on for this
// one command only (COM_SET_OPTION), the statements go as one COM_QUERY,
// and multi-statements are switched off again, the three commands written
// back to back before any answer is read. Backend connections never keep
// multi-statements on: a client's text the proxy failed to split where
// the server does would otherwise run as two statements.
//
// The server runs the statements in order and stops at the first error,
// so oks holds the OK packet of every statement that ran, in order, and
// failed, when not nil, is the error of statement len(oks); the others
// did not run. err, when not nil, broke the connection (it must be
// dropped): statements after len(oks) (+1 with failed) may or may not
// have run when Sent(err), else none of them reached the server.
//
// Every statement must be complete SQL the proxy rendered: none may end
// inside a comment or a quoted string.
func (c *Conn) ExecBatch(sqls []string) (oks []wire.OK, failed *mysql.MyError, err error) {
	if len(sqls) == 1 {
		ok, err := c.Exec(sqls[0])
		var me *mysql.MyError
		if errors.As(err, &me) && isServerError(err) {
			return nil, me, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return []wire.OK{ok}, nil, nil
	}
	if err := c.Send(mysql.COM_SET_OPTION, multiStatementsOn); err != nil {
		return nil, nil, err
	}
	// "\n;\n": a statement ending in a # or -- comment cannot swallow the
	// separator.
	if err := c.Send(mysql.COM_QUERY, []byte(strings.Join(sqls, "\n;\n"))); err != nil {
		return nil, nil, err
	}
	if err := c.Send(mysql.COM_SET_OPTION, multiStatementsOff); err != nil {
		// The statements were written whole: they run whatever happens
		// to the last command.
		return nil, nil, sentError(err)
	}
	// Each answer's packets are numbered from 1 after its command's.
	c.SetSequence(1)
	if err := c.readOptionAnswer(); err != nil {
		return nil, nil, sentError(err)
	}
	c.SetSequence(1)
	for {
		var out Outcome
		more, rerr := c.streamOne(discard{}, &out, nil)
		if rerr != nil {
			return oks, nil, rerr
		}
		if out.Err != nil {
			failed = out.Err
			break
		}
		oks = append(oks, out.OK)
		if !more {
			break
		}
	}
	if len(oks) < len(sqls) && failed == nil {
		// The server answered fewer statements than were sent without an
		// error: it split the text elsewhere than the proxy meant.
		return oks, nil, errors.New("shardgate: the server answered fewer statements than the batch held")
	}
	c.SetSequence(1)
	if err := c.readOptionAnswer(); err != nil {
		return oks, failed, err
	}
	return oks, failed, nil
}

// readOptionAnswer reads COM_SET_OPTION's answer: EOF (OK with
// CLIENT_DEPRECATE_EOF) or an error.
func (c *Conn) readOptionAnswer() error {
	p, err := c.ReadPacket()
	if err != nil {
		return err
	}
	switch {
	case len(p) > 0 && p[0] == wire.HeaderERR:
		// Not a *mysql.MyError: the commands after it are still to be
		// answered, so the connection is out of step and must be dropped.
		return fmt.Errorf("shardgate: COM_SET_OPTION refused: %s", wire.ParseError(p).Message)
	case wire.IsEOF(p), len(p) > 0 && p[0] == wire.HeaderOK:
		return nil
	}
	return errors.New("shardgate: unexpected answer to COM_SET_OPTION")
}

// sentError marks err, a failure after the statements were written
// whole, as one after which they may have run (not "not sent").
func sentError(err error) error {
	var ns *notSentError
	if errors.As(err, &ns) {
		return ns.err
	}
	return err
}

// isServerError: err is an ERR packet from the server on a connection
// still usable (not a wrapped I/O failure).
func isServerError(err error) bool {
	_, ok := err.(*mysql.MyError)
	return ok
}

type discard struct{}

func (discard) WritePacket([]byte) error { return nil }

// FileClient is the client side of a relayed LOAD DATA LOCAL: the
// backend's file request is written to it and the file read from it.
type FileClient interface {
	WritePacket(p []byte) error
	Flush() error
	ReadPacket() ([]byte, error)
}

// RelayLocalFile runs sql, a LOAD DATA LOCAL statement, relaying the
// server's file request to client and the client's file packets (up to
// the empty one) to the server, then forwards the server's answer. The
// proxy reads no file of its own. A client that fails mid-file leaves the
// server waiting for the rest: the error (a *SinkError) drops the
// connection, and the server abandons the statement.
func (c *Conn) RelayLocalFile(sql string, client FileClient) (Outcome, error) {
	if err := c.Send(mysql.COM_QUERY, []byte(sql)); err != nil {
		return Outcome{}, err
	}
	p, err := c.ReadPacket()
	if err != nil {
		return Outcome{}, err
	}
	if len(p) == 0 || p[0] != wire.HeaderLocalInfile {
		// An error (or an answer without a file): forwarded as it is.
		var out Outcome
		switch {
		case len(p) > 0 && p[0] == wire.HeaderERR:
			out.Err = wire.ParseError(p)
		case len(p) > 0 && p[0] == wire.HeaderOK:
			out.OK, _ = wire.ParseOK(p)
			out.Status = out.OK.Status
		default:
			return out, errors.New("shardgate: unexpected answer to LOAD DATA LOCAL")
		}
		if err := client.WritePacket(p); err != nil {
			return out, &SinkError{err}
		}
		return out, nil
	}
	if err := client.WritePacket(p); err != nil {
		return Outcome{}, &SinkError{err}
	}
	if err := client.Flush(); err != nil {
		return Outcome{}, &SinkError{err}
	}
	for {
		fp, err := client.ReadPacket()
		if err != nil {
			return Outcome{}, &SinkError{err}
		}
		if err := c.WritePacket(fp); err != nil {
			return Outcome{}, err
		}
		if len(fp) == 0 {
			break
		}
	}
	if err := c.Conn.Flush(); err != nil {
		return Outcome{}, err
	}
	c.armReadDeadline()
	var out Outcome
	more, err := c.streamOne(sinkOf(client), &out, nil)
	for err == nil && more {
		more, err = c.streamOne(sinkOf(client), &out, nil)
	}
	return out, err
}

func sinkOf(c FileClient) Sink { return SinkFunc(c.WritePacket) }
