package memory

import (
	"errors"
	"sync"
	"testing"
)

const mib = 1 << 20

// Each step grows or shrinks one account of a three-level tree (a
// connection with two statements) and says what every level holds after
// it, and which limit refuses.
func TestAccountLimits(t *testing.T) {
	type step struct {
		acct    string // conn, s1, s2
		grow    int64  // > 0 grow, < 0 shrink
		refused Scope  // -1: granted
		// after the step
		conn, s1, s2, budget int64
	}
	granted := Scope(-1)
	tests := []struct {
		name  string
		steps []step
	}{
		{"statement within its share", []step{
			{"s1", 4 * mib, granted, 4 * mib, 4 * mib, 0, 4 * mib},
			{"s1", -1 * mib, granted, 3 * mib, 3 * mib, 0, 3 * mib},
		}},
		{"statement over its share", []step{
			{"s1", 4 * mib, granted, 4 * mib, 4 * mib, 0, 4 * mib},
			{"s1", 1*mib + 1, Statement, 4 * mib, 4 * mib, 0, 4 * mib},
			{"s1", 1 * mib, granted, 5 * mib, 5 * mib, 0, 5 * mib},
		}},
		{"long data and a statement share the connection's", []step{
			{"conn", 6 * mib, granted, 6 * mib, 0, 0, 6 * mib},
			{"s1", 3 * mib, Connection, 6 * mib, 0, 0, 6 * mib},
			{"s1", 2 * mib, granted, 8 * mib, 2 * mib, 0, 8 * mib},
		}},
		{"two statements of one connection", []step{
			{"s1", 5 * mib, granted, 5 * mib, 5 * mib, 0, 5 * mib},
			{"s2", 4 * mib, Connection, 5 * mib, 5 * mib, 0, 5 * mib},
			{"s2", 3 * mib, granted, 8 * mib, 5 * mib, 3 * mib, 8 * mib},
		}},
		{"the process limit, with other holders", []step{
			// "other" holds 12 MiB of the 16 MiB budget.
			{"other", 8 * mib, granted, 0, 0, 0, 8 * mib},
			{"other2", 4 * mib, granted, 0, 0, 0, 12 * mib},
			{"s1", 5 * mib, Process, 0, 0, 0, 12 * mib},
			{"s1", 4 * mib, granted, 4 * mib, 4 * mib, 0, 16 * mib},
			{"conn", 1, Process, 4 * mib, 4 * mib, 0, 16 * mib},
		}},
		{"shrinking more than held stops at zero", []step{
			{"s1", 1 * mib, granted, 1 * mib, 1 * mib, 0, 1 * mib},
			{"conn", 1 * mib, granted, 2 * mib, 1 * mib, 0, 2 * mib},
			{"s1", -5 * mib, granted, 1 * mib, 0, 0, 1 * mib},
			{"s2", -1, granted, 1 * mib, 0, 0, 1 * mib},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(16*mib, 8*mib, 5*mib)
			conn := b.Connection()
			accts := map[string]*Account{"conn": conn, "s1": b.Statement(conn), "s2": b.Statement(conn),
				"other": b.Connection(), "other2": b.Connection()}
			for i, s := range tc.steps {
				a := accts[s.acct]
				var err error
				if s.grow > 0 {
					err = a.Grow(s.grow)
				} else {
					a.Shrink(-s.grow)
				}
				var r *Refusal
				switch {
				case s.refused == granted && err != nil:
					t.Fatalf("step %d: refused: %v", i, err)
				case s.refused != granted && !errors.As(err, &r):
					t.Fatalf("step %d: granted, want refused by %s", i, s.refused.Key())
				case s.refused != granted && r.Scope != s.refused:
					t.Fatalf("step %d: refused by %s, want %s (%v)", i, r.Scope.Key(), s.refused.Key(), err)
				}
				if got := [4]int64{conn.Used(), accts["s1"].Used(), accts["s2"].Used(), b.Reserved()}; got != [4]int64{s.conn, s.s1, s.s2, s.budget} {
					t.Fatalf("step %d: conn, s1, s2, budget hold %v, want %v", i, got, [4]int64{s.conn, s.s1, s.s2, s.budget})
				}
			}
			for _, a := range accts {
				a.Close()
			}
			if b.Reserved() != 0 {
				t.Fatalf("after closing every account the budget holds %d", b.Reserved())
			}
		})
	}
}

// A refusal names its limit and says how much was asked, and is counted
// once, under the scope that refused.
func TestRefusalCountedAndWorded(t *testing.T) {
	b := NewBudget(64*mib, 16*mib, 16*mib)
	st := b.Statement(b.Connection())
	err := st.Grow(17 * mib)
	var r *Refusal
	if !errors.As(err, &r) || r.Scope != Statement || r.Limit != 16*mib || r.Want != 17*mib {
		t.Fatalf("refusal %#v", err)
	}
	if want := "statement_memory_limit (16 MiB) reached: the statement holds 0 bytes and needs 17 MiB more"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	if b.Refusals(Statement) != 1 || b.Refusals(Connection) != 0 || b.Refusals(Process) != 0 {
		t.Fatalf("refusals %d %d %d", b.Refusals(Process), b.Refusals(Connection), b.Refusals(Statement))
	}
	if b.Reserved() != 0 {
		t.Fatalf("a refused reservation holds %d", b.Reserved())
	}
}

// A nil account (no budget) grants everything and holds nothing.
func TestNilAccount(t *testing.T) {
	var a *Account
	if err := a.Grow(1 << 40); err != nil || a.Used() != 0 {
		t.Fatalf("nil account: %v, %d", err, a.Used())
	}
	a.Shrink(5)
	a.Close()
	var b *Budget
	if b.Connection() != nil || b.Statement(nil) != nil {
		t.Fatal("a nil budget made accounts")
	}
}

// Many goroutines growing and shrinking accounts of one budget never see
// it pass its limit or go negative, and leave it at zero. Run with -race.
func TestConcurrentAccounts(t *testing.T) {
	const limit = 10 * mib
	b := NewBudget(limit, 4*mib, 2*mib)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var over []int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := b.Connection()
			defer conn.Close()
			for i := 0; i < 2000; i++ {
				st := b.Statement(conn)
				n := int64(1+(i*7919+g*104729)%64) << 14 // 16 KiB … 1 MiB
				held := int64(0)
				for j := 0; j < 4; j++ {
					if st.Grow(n) == nil {
						held += n
					}
					if r := b.Reserved(); r > limit || r < 0 {
						mu.Lock()
						over = append(over, r)
						mu.Unlock()
					}
				}
				if st.Used() != held {
					mu.Lock()
					over = append(over, -held)
					mu.Unlock()
				}
				if i%3 == 0 {
					st.Shrink(n)
				}
				st.Close()
			}
		}()
	}
	wg.Wait()
	if len(over) > 0 {
		t.Fatalf("the budget left [0, %d] or an account lost track: %v", limit, over[:min(len(over), 5)])
	}
	if b.Reserved() != 0 {
		t.Fatalf("budget holds %d after every account closed", b.Reserved())
	}
	if b.Peak() > limit || b.Peak() == 0 {
		t.Fatalf("peak %d, want in (0, %d]", b.Peak(), limit)
	}
	if b.Refusals(Statement)+b.Refusals(Connection)+b.Refusals(Process) == 0 {
		t.Fatal("16 goroutines asking for up to 4 MiB each of 10 MiB were never refused: the test does not exercise the limits")
	}
}

func TestFormat(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB",
		64 * mib: "64 MiB", 1 << 30: "1 GiB", 3 << 29: "1.5 GiB"} {
		if got := Format(n); got != want {
			t.Errorf("Format(%d) = %q, want %q", n, got, want)
		}
	}
}
