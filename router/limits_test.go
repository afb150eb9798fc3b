package router

import (
	"testing"
	"time"

	"github.com/shardgate/shardgate/rules"
)

func TestLimiterTake(t *testing.T) {
	var ls limiters
	lim := ls.get(&ls.users, "app", rules.Limits{MaxStatements: 2})
	r1, _, _ := lim.take(time.Now(), false)
	r2, _, _ := lim.take(time.Now(), false)
	if r1 == nil || r2 == nil {
		t.Fatal("two statements under max_statements 2 refused")
	}
	if r3, limit, v := lim.take(time.Now(), false); r3 != nil || limit != "max_statements" || v != 2 {
		t.Fatalf("third statement: %v %s %g", r3 != nil, limit, v)
	}
	r1()
	if r3, _, _ := lim.take(time.Now(), false); r3 == nil {
		t.Fatal("a statement after one ended refused")
	}
	// A reload's new limits apply to the same account; running
	// statements stay counted.
	if again := ls.get(&ls.users, "app", rules.Limits{MaxStatements: 3, MaxQPS: 10}); again != lim {
		t.Fatal("a new limiter for the same user")
	}
	now := time.Now()
	r4, _, _ := lim.take(now, false) // the bucket holds 1 (a tenth of 10/s)
	if r4 == nil {
		t.Fatal("the first statement under max_qps refused")
	}
	if r5, limit, _ := lim.take(now, false); r5 != nil || limit != "max_statements" {
		t.Fatalf("the fourth running statement under max_statements 3: %s", limit)
	}
	r4()
	if r6, limit, _ := lim.take(now, false); r6 != nil || limit != "max_qps" {
		t.Fatalf("a second statement in the same instant under max_qps 10: %s", limit)
	}
	if r7, _, _ := lim.take(now.Add(150*time.Millisecond), false); r7 == nil {
		t.Fatal("a statement a tenth of a second later refused")
	}
}
