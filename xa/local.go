package xa

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/engine"
	"github.com/shardgate/shardgate/wire"
)

// Local branches: a best_effort transaction's, and read-only transactions'
// (START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT), one plain local
// transaction per cluster.

// CommitLocal commits each branch in turn. When one fails, the ones after
// it are rolled back; the error says what was committed before it (a
// best_effort transaction is atomic only until its first commit, as
// Vitess's "multi" mode).
func (c *Coordinator) CommitLocal(bs []Branch) (Outcome, error) {
	bs = droppingOnce(bs)
	out := newOutcome(len(bs))
	var committed []string
	var failure error
	for i, b := range bs {
		if failure != nil {
			out.Keep[i] = rollbackLocal(b)
			continue
		}
		_, err := b.Conn.Exec("COMMIT")
		switch engine.Classify(err) {
		case engine.FaultNone:
			out.Keep[i] = true
			committed = append(committed, b.Cluster)
			continue
		case engine.FaultServer:
			out.Keep[i] = rollbackLocal(b)
		}
		failure = localFailure(b, err, committed)
	}
	dropUnkept(bs, out)
	if failure == nil && len(bs) > 0 {
		c.Metrics.TxnCommitted("local")
	}
	return out, failure
}

// RollbackLocal rolls every branch back.
func (c *Coordinator) RollbackLocal(bs []Branch) Outcome {
	bs = droppingOnce(bs)
	out := newOutcome(len(bs))
	for i, b := range bs {
		out.Keep[i] = rollbackLocal(b)
	}
	dropUnkept(bs, out)
	return out
}

func rollbackLocal(b Branch) bool {
	_, err := b.Conn.Exec("ROLLBACK")
	return err == nil
}

// localFailure is what the client hears when branch b's COMMIT failed
// after the branches in committed were committed.
func localFailure(b Branch, err error, committed []string) error {
	fault := engine.Classify(err)
	if len(committed) == 0 {
		if fault == engine.FaultServer {
			return err // as one server would answer, and nothing committed
		}
		return backend.OutcomeUnknown(b.Server, err)
	}
	what := fmt.Sprintf("%v", err)
	var me *mysql.MyError
	if errors.As(err, &me) {
		what = fmt.Sprintf("%d: %s", me.Code, me.Message)
	} else {
		what = "the connection broke after COMMIT was sent, so this branch may or may not have committed (" + what + ")"
	}
	return wire.Errorf(mysql.ER_UNKNOWN_ERROR, "shardgate: COMMIT failed on %s: %s; committed before it on %s; the branches after it were rolled back (transactions: best_effort commits one cluster after another)",
		b.Server, what, strings.Join(committed, ", "))
}
