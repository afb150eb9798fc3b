package backend

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// What the client hears for each way an exchange can fail: the code, what
// the message must say, and what it must not claim.
func TestLost(t *testing.T) {
	const server = "replica main (127.0.0.1:3311)"
	cut := func() error {
		return &LeftRotationError{Server: server, Reason: "health check failed: i/o timeout", Err: io.EOF}
	}
	cases := []struct {
		name    string
		cause   error
		code    uint16
		says    []string
		mustNot []string
	}{
		{"broke after sending", io.EOF, CodeOutcomeUnknown,
			[]string{"outcome unknown", server}, []string{"not sent", "left rotation"}},
		{"never sent", BeforeStatement(io.EOF), CodeNotSent,
			[]string{"not sent, nothing ran (safe to retry)", server}, []string{"outcome unknown"}},
		{"never sent, transaction's connection", InTransaction(BeforeStatement(io.EOF)), CodeOutcomeUnknown,
			[]string{"not sent", "transaction was not committed", "retry the whole transaction"}, []string{"safe to retry"}},
		{"cut before any answer", cut(), CodeOutcomeUnknown,
			[]string{server, "left rotation (health check failed: i/o timeout)", "before it answered", "nothing was changed"}, []string{"outcome unknown", "incomplete"}},
		{"cut mid-result", Partial(cut()), CodeOutcomeUnknown,
			[]string{server, "left rotation", "after part of the result", "the result is incomplete"}, []string{"outcome unknown", "before it answered"}},
		{"cut holding the transaction", InTransaction(cut()), CodeOutcomeUnknown,
			[]string{server, "left rotation", "open transaction", "not committed", "retry the whole transaction"}, []string{"outcome unknown", "running the statement again is safe"}},
		{"cut before the statement was written", BeforeStatement(cut()), CodeNotSent,
			[]string{"not sent, nothing ran", "left rotation"}, []string{"outcome unknown"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			me := Lost(server, c.cause)
			if me.Code != c.code || me.State != "HY000" {
				t.Errorf("code %d %s, want %d HY000", me.Code, me.State, c.code)
			}
			for _, s := range c.says {
				if !strings.Contains(me.Message, s) {
					t.Errorf("%q does not say %q", me.Message, s)
				}
			}
			for _, s := range c.mustNot {
				if strings.Contains(me.Message, s) {
					t.Errorf("%q says %q", me.Message, s)
				}
			}
		})
	}
}

// Stopped answers only for cut connections, through any wrapping.
func TestStoppedOnlyForCuts(t *testing.T) {
	if Stopped(io.EOF) != nil || Stopped(Partial(io.EOF)) != nil {
		t.Error("Stopped answered for a connection the proxy did not cut")
	}
	wrapped := unreachable("127.0.0.1:3311", &LeftRotationError{Server: "s", Reason: "r", Err: io.EOF})
	var me *mysql.MyError
	if got := Stopped(wrapped); got == nil || !errors.As(error(got), &me) {
		t.Error("Stopped did not see a cut inside another error")
	}
}

func TestUnknownColumn(t *testing.T) {
	for msg, want := range map[string]string{
		"Unknown column 'idd' in 'field list'":       "idd",
		"Unknown column 'p.owner' in 'where clause'": "owner",
		"Table 'shop.x' doesn't exist":               "",
	} {
		name, ok := UnknownColumn(mysql.NewError(mysql.ER_BAD_FIELD_ERROR, msg))
		if name != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", msg, name, ok, want)
		}
	}
}
