package backend

import (
	"errors"
	"fmt"

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
// broken connection: NotSent or OutcomeUnknown, whichever is true.
func Lost(server string, cause error) *mysql.MyError {
	if Sent(cause) {
		return OutcomeUnknown(server, cause)
	}
	return NotSent(server, cause)
}
