package backend

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// What the client hears when a backend fails. Two cases must never be
// confused: a statement that never reached a server (nothing ran; the
// client may retry it) and one whose connection broke after it was sent
// (it may or may not have run, committed included; only reading tells).
// Both use server-range codes: an ERR packet with a client-range code
// (2003 CR_CONN_HOST_ERROR) is shown by the mariadb client as "2027
// Received malformed packet". engine.Classify decides what an error means
// for the connection; this file decides what it means for the statement.

// CodeNotSent is the code of "the statement never reached the server":
// ER_CONNECT_TO_FOREIGN_DATA_SOURCE (1429, SQLSTATE HY000), what MariaDB
// itself answers when a remote server (Spider, FEDERATED) cannot be
// reached.
const CodeNotSent = mysql.ER_CONNECT_TO_FOREIGN_DATA_SOURCE

// CodeOutcomeUnknown is the code of "the connection broke after the
// statement was sent": ER_UNKNOWN_ERROR (1105).
const CodeOutcomeUnknown = mysql.ER_UNKNOWN_ERROR

// UnreachableError: no connection to the server could be made (TCP connect
// or login failed below the SQL level), or its pool is closed.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot connect to %s: %v", e.Addr, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// notSentError: writing a command failed, so the server never received it
// whole; a command is only run once its last byte has arrived.
type notSentError struct{ err error }

func (e *notSentError) Error() string { return "sending the statement failed: " + e.err.Error() }
func (e *notSentError) Unwrap() error { return e.err }

// BeforeStatement marks err, a failure on a connection before the
// client's statement was written to it (selecting the database, setting
// variables), as one after which the statement was not sent.
func BeforeStatement(err error) error { return &notSentError{err} }

// IsUnreachable reports a server that could not be connected to.
func IsUnreachable(err error) bool {
	var u *UnreachableError
	return errors.As(err, &u)
}

// Sent reports whether a statement whose exchange failed with err may have
// reached the server: false only when the proxy knows it did not.
func Sent(err error) bool {
	var ns *notSentError
	return !IsUnreachable(err) && !errors.As(err, &ns)
}

// Describe names a backend in messages: "primary s1 (127.0.0.1:3330)".
func (b *Backend) Describe() string { return Describe(b.Role, b.Cluster, b.Addr) }

// Describe names a server by role, cluster and address.
func Describe(role Role, cluster, addr string) string {
	return fmt.Sprintf("%s %s (%s)", role, cluster, addr)
}

// NotSent is the error for a statement that never reached server (as
// Describe words it): nothing ran, a retry is safe.
func NotSent(server string, cause error) *mysql.MyError {
	return wire.Errorf(CodeNotSent, "%s%s: %v", NotSentPrefix, server, cause)
}

// NotSentPrefix starts every NotSent message. A statement with several
// steps, some of which ran, reports a step's NotSent without it: the
// statement as a whole is not safe to retry.
const NotSentPrefix = "shardgate: not sent, nothing ran (safe to retry): "

// OutcomeUnknown is the error for a statement sent to server whose
// connection broke before the answer: it may or may not have taken effect.
func OutcomeUnknown(server string, cause error) *mysql.MyError {
	return wire.Errorf(CodeOutcomeUnknown, "shardgate: outcome unknown: the connection to %s broke after the statement was sent, so it may or may not have taken effect (%v)", server, cause)
}

// TransactionLost is the error for a statement that was not sent because
// the connection holding the session's open transaction broke: nothing of
// the statement ran, and the transaction was not committed (a transaction
// commits only by a COMMIT on its own connection), so it is the whole
// transaction, not the statement, that may be retried.
func TransactionLost(server string, cause error) *mysql.MyError {
	return wire.Errorf(CodeOutcomeUnknown, "shardgate: not sent: the connection to %s holding this session's open transaction broke before the statement was written (%v); the transaction was not committed (the server rolls it back): retry the whole transaction", server, cause)
}

// Lost is the error for an exchange with server that failed with cause, a
// broken connection: NotSent or OutcomeUnknown, whichever is true, or
// what Stopped says when the proxy cut the connection. A statement not
// sent on the connection holding the session's transaction (marked
// InTransaction) is TransactionLost: the transaction ended with it.
func Lost(server string, cause error) *mysql.MyError {
	if !Sent(cause) {
		if errors.As(cause, new(*txnLostError)) {
			return TransactionLost(server, cause)
		}
		return NotSent(server, cause)
	}
	if me := Stopped(cause); me != nil {
		return me
	}
	return OutcomeUnknown(server, cause)
}

// LeftRotationError: the proxy closed the connection a statement was
// running on because its server left rotation (it stopped answering
// health checks), rather than let the statement wait for the read
// timeout. Only replicas' connections are cut (Backend.leaveRotation), so
// the statement was a read. The caller runs it again elsewhere when
// nothing of its answer has been used yet; otherwise the client hears
// StoppedLeftRotation.
type LeftRotationError struct {
	// Server names the server as Describe does.
	Server string
	// Reason is the health check failure that took it out.
	Reason string
	// Err is what the read or write on the closed connection returned.
	Err error
}

func (e *LeftRotationError) Error() string {
	msg := e.Server + " left rotation (" + e.Reason + ") and the proxy closed the connection"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *LeftRotationError) Unwrap() error { return e.Err }

// IsLeftRotation reports an exchange the proxy cut because the server
// left rotation.
func IsLeftRotation(err error) bool {
	var lr *LeftRotationError
	return errors.As(err, &lr)
}

// partialError marks a failure after part of the statement's answer was
// used: sent to the client, or merged into what it gets.
type partialError struct{ err error }

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

// Partial marks err as a failure after part of the answer was used.
func Partial(err error) error { return &partialError{err} }

// txnLostError marks a failure on the connection that held the session's
// open transaction.
type txnLostError struct{ err error }

func (e *txnLostError) Error() string { return e.err.Error() }
func (e *txnLostError) Unwrap() error { return e.err }

// InTransaction marks err as a failure of the connection holding the
// session's open transaction, which ended with it.
func InTransaction(err error) error { return &txnLostError{err} }

// Stopped is the client's error for err when it is a statement the proxy
// cut because its server left rotation (a *LeftRotationError) and that
// could not run again elsewhere: part of its answer was already used
// (marked Partial), the connection held the session's transaction
// (marked InTransaction), or no other server could take it. Nothing was
// changed, since only replicas' statements are cut; the code is 1105 like
// the other broken exchanges. Stopped is nil for any other err.
func Stopped(err error) *mysql.MyError {
	var lr *LeftRotationError
	if !errors.As(err, &lr) {
		return nil
	}
	var partial *partialError
	var inTxn *txnLostError
	what := fmt.Sprintf("shardgate: %s left rotation (%s) while this statement ran on it, so the proxy closed that connection", lr.Server, lr.Reason)
	switch {
	case errors.As(err, &inTxn):
		return wire.Errorf(CodeOutcomeUnknown, "%s, which held this session's open transaction: the transaction was not committed (the server rolls it back) and nothing was changed; retry the whole transaction", what)
	case errors.As(err, &partial):
		return wire.Errorf(CodeOutcomeUnknown, "%s after part of the result had been read from it: the result is incomplete; nothing was changed (replicas take no writes), running the statement again is safe", what)
	}
	return wire.Errorf(CodeOutcomeUnknown, "%s before it answered, and the statement could not move to another server (none was left, or the session is tied to that connection); nothing was changed (replicas take no writes)", what)
}

// UnknownColumn is the column a server's 1054 (ER_BAD_FIELD_ERROR, "Unknown
// column 'x' in 'where clause'") names, without a table qualifier.
func UnknownColumn(err error) (string, bool) {
	var me *mysql.MyError
	if !errors.As(err, &me) || me.Code != mysql.ER_BAD_FIELD_ERROR {
		return "", false
	}
	rest, ok := strings.CutPrefix(me.Message, "Unknown column '")
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, "' in '")
	if !ok {
		return "", false
	}
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name, name != ""
}
