package engine

import (
	"errors"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/wire"
)

// Fault is what an error from a backend exchange means for the connection.
// This is the one place that decides it.
type Fault int

const (
	// FaultNone: no error.
	FaultNone Fault = iota
	// FaultServer: the server answered with an error packet; the
	// connection is fine and the statement did not happen.
	FaultServer
	// FaultClient: the client stopped reading mid-answer; the connection
	// is in the middle of a result and the statement must be stopped.
	FaultClient
	// FaultBroken: the connection failed (I/O, protocol); whether the
	// statement ran is unknown, and the connection cannot be used again.
	FaultBroken
)

// Classify tells what err means for the connection it came from.
func Classify(err error) Fault {
	if err == nil {
		return FaultNone
	}
	var gone *backend.SinkError
	if errors.As(err, &gone) {
		return FaultClient
	}
	var me *mysql.MyError
	if errors.As(err, &me) {
		return FaultServer
	}
	return FaultBroken
}

// ClientGoneError means the client stopped reading in the middle of a
// response; the connection to it must be closed.
type ClientGoneError = backend.SinkError

// clientGone wraps a failed write to the client.
func clientGone(err error) error { return &ClientGoneError{Err: err} }

// shardError is the error a client gets when one input of a multi-step
// read failed: the server's own error when it sent one, else 1105.
func shardError(err error) error {
	if err == nil {
		err = errors.New("shard stream ended early")
	}
	switch Classify(err) {
	case FaultServer:
		var me *mysql.MyError
		errors.As(err, &me)
		return me
	case FaultClient:
		return err
	}
	if me := backend.Stopped(err); me != nil {
		return me
	}
	return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: a shard failed during a scatter read: %v", err)
}
