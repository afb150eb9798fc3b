package sequence

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/wire"
)

// fakeStore is the sequence table in memory: one next value per key,
// moved atomically. fail makes the next Reserve calls fail, either before
// the row moved or (lost) after it moved, as a connection that breaks
// after the statement was sent.
type fakeStore struct {
	mu    sync.Mutex
	next  map[string]int64
	calls int
	fail  []string // "", "before", "lost", consumed in order
}

func newFakeStore() *fakeStore { return &fakeStore{next: map[string]int64{}} }

func (f *fakeStore) Reserve(key string, n, floor int64) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	mode := ""
	if len(f.fail) > 0 {
		mode, f.fail = f.fail[0], f.fail[1:]
	}
	if mode == "before" {
		return 0, errors.New("connection refused")
	}
	first := max(f.next[key], floor)
	f.next[key] = first + n
	if mode == "lost" {
		return 0, errors.New("connection reset after the statement was sent")
	}
	return first, nil
}

func gen(n int) []Slot { return make([]Slot, n) }

func TestAssignBlocks(t *testing.T) {
	st := newFakeStore()
	a := New(st)
	cfg := Config{Start: 1, Cache: 10}
	cases := []struct {
		name      string
		slots     []Slot
		want      []int64
		calls     int   // Reserve calls so far
		tableNext int64 // the store's next value afterwards
	}{
		{"first value takes a block", gen(1), []int64{1}, 1, 11},
		{"within the block: no round trip", gen(3), []int64{2, 3, 4}, 1, 11},
		{"a run that does not fit takes a contiguous block", gen(8), []int64{5, 6, 7, 8, 9, 10, 11, 12}, 2, 21},
		{"explicit inside the block moves locally", []Slot{{Explicit: true, Value: 15}, {}}, []int64{0, 16}, 2, 21},
		{"explicit below the next value changes nothing", []Slot{{Explicit: true, Value: 3}, {}}, []int64{0, 17}, 2, 21},
		{"explicit past the block moves the table", []Slot{{Explicit: true, Value: 100}, {}, {}}, []int64{0, 101, 102}, 3, 111},
		{"explicit of unknown value (an expression) changes nothing", []Slot{{Explicit: true}, {}}, []int64{0, 103}, 3, 111},
		{"a run larger than the cache gets a block of its size, joined to what was left", gen(25), seqFrom(104, 25), 4, 136},
	}
	for _, c := range cases {
		got, err := a.Assign("shop.comments", cfg, c.slots)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Fatalf("%s: got %v, want %v", c.name, got, c.want)
		}
		if st.calls != c.calls || st.next["shop.comments"] != c.tableNext {
			t.Fatalf("%s: %d Reserve calls, table next %d; want %d, %d", c.name, st.calls, st.next["shop.comments"], c.calls, c.tableNext)
		}
	}
}

func seqFrom(first int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = first + int64(i)
	}
	return out
}

// TestStartAndKeys: start is the first value; sequences are independent.
func TestStartAndKeys(t *testing.T) {
	a := New(newFakeStore())
	x, _ := a.Assign("s.a", Config{Start: 1000, Cache: 5}, gen(2))
	y, _ := a.Assign("s.b", Config{Start: 1, Cache: 5}, gen(2))
	if fmt.Sprint(x, y) != "[1000 1001] [1 2]" {
		t.Fatalf("got %v %v", x, y)
	}
	// start raised by a reload above what this instance holds.
	z, _ := a.Assign("s.b", Config{Start: 50, Cache: 5}, gen(1))
	if z[0] != 50 {
		t.Fatalf("raised start: got %v", z)
	}
}

// TestFailedAllocation: a Reserve whose outcome is unknown (the row may
// have moved) gives the client 1467, and its block is never handed out:
// the next values come from a later block, past the lost one.
func TestFailedAllocation(t *testing.T) {
	st := newFakeStore()
	a := New(st)
	cfg := Config{Start: 1, Cache: 10}
	for _, mode := range []string{"lost", "before"} {
		st.fail = []string{mode}
		_, err := a.Assign("k", cfg, gen(1))
		var me *mysql.MyError
		if !errors.As(err, &me) || me.Code != mysql.ER_AUTOINC_READ_FAILED || !strings.Contains(me.Message, "not run") {
			t.Fatalf("%s: got %v, want 1467 saying the statement did not run", mode, err)
		}
	}
	got, err := a.Assign("k", cfg, gen(2))
	if err != nil {
		t.Fatal(err)
	}
	// The lost block was [1, 11): the row moved to 11 though nobody heard.
	if fmt.Sprint(got) != "[11 12]" {
		t.Fatalf("after a lost allocation got %v, want values past the lost block [1,11)", got)
	}
}

// TestConcurrentSessionsAndInstances: many sessions of two instances
// sharing one sequence table never get the same value, and each
// instance's values are consecutive within a statement.
func TestConcurrentSessionsAndInstances(t *testing.T) {
	st := newFakeStore()
	instances := []*Allocator{New(st), New(st)}
	cfg := Config{Start: 1, Cache: 7}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			a := instances[g%2]
			for i := 0; i < 200; i++ {
				n := 1 + (g+i)%4
				slots := gen(n)
				if i%17 == 0 {
					slots = append(slots, Slot{Explicit: true, Value: int64(i * 3)})
				}
				vals, err := a.Assign("k", cfg, slots)
				if err != nil {
					t.Error(err)
					return
				}
				for j := 1; j < n; j++ {
					if vals[j] != vals[j-1]+1 {
						t.Errorf("values of one statement not consecutive: %v", vals)
					}
				}
				mu.Lock()
				for j := 0; j < n; j++ {
					seen[vals[j]]++
				}
				mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	for v, n := range seen {
		if n > 1 {
			t.Fatalf("value %d handed out %d times", v, n)
		}
	}
}

// TestRestartSkipsAtMostOneBlock: a new allocator on the same table (a
// restarted proxy) starts past the block the old one held.
func TestRestartSkipsAtMostOneBlock(t *testing.T) {
	st := newFakeStore()
	cfg := Config{Start: 1, Cache: 100}
	old := New(st)
	if _, err := old.Assign("k", cfg, gen(3)); err != nil {
		t.Fatal(err)
	}
	got, _ := New(st).Assign("k", cfg, gen(1))
	if got[0] != 101 {
		t.Fatalf("after a restart got %d, want 101 (values 4..100 skipped, one block)", got[0])
	}
}

// fakeConn records statements and answers them as the sequence table's
// server would, or breaks.
type fakeConn struct {
	p *fakePrimaries
}

type fakePrimaries struct {
	stmts  []string
	next   int64
	broken int // exchanges that break before answering
	puts   []bool
}

func (c *fakeConn) Exec(sql string) (wire.OK, error) {
	p := c.p
	p.stmts = append(p.stmts, sql)
	if strings.HasPrefix(sql, "INSERT") {
		if p.broken > 0 {
			p.broken--
			return wire.OK{}, &net0{}
		}
		var floor, n int64
		i := strings.Index(sql, "GREATEST(next_id, ")
		fmt.Sscanf(sql[i:], "GREATEST(next_id, %d) + %d)", &floor, &n)
		p.next = max(p.next, floor) + n
		return wire.OK{AffectedRows: 2, InsertID: uint64(p.next)}, nil
	}
	return wire.OK{}, nil
}

// net0 is a broken connection as engine.Classify sees one.
type net0 struct{}

func (*net0) Error() string   { return "read: connection reset by peer" }
func (*net0) Timeout() bool   { return false }
func (*net0) Temporary() bool { return false }

func (p *fakePrimaries) Get(cluster string) (Conn, error) { return &fakeConn{p: p}, nil }
func (p *fakePrimaries) Put(cluster string, c Conn, broken bool) {
	p.puts = append(p.puts, broken)
}

// TestTableStatements: the table is created once, a block is one atomic
// statement whose OK packet says where the row moved, and a broken
// exchange is tried once more on a fresh connection.
func TestTableStatements(t *testing.T) {
	p := &fakePrimaries{next: 1}
	tb := &Table{Cluster: "main", Schema: "txn_shardgate", P: p}
	first, err := tb.Reserve("shop.comments", 1000, 1)
	if err != nil || first != 1 {
		t.Fatalf("first block: %d, %v", first, err)
	}
	p.broken = 1
	first, err = tb.Reserve("shop.comments", 1000, 1)
	if err != nil || first != 1001 {
		t.Fatalf("after one broken exchange: %d, %v", first, err)
	}
	want := []string{
		"CREATE DATABASE IF NOT EXISTS `txn_shardgate`",
		"CREATE TABLE IF NOT EXISTS `txn_shardgate`.`sequences`",
		"INSERT INTO `txn_shardgate`.`sequences` (name, next_id) VALUES (X'73686f702e636f6d6d656e7473', LAST_INSERT_ID(1 + 1000)) ON DUPLICATE KEY UPDATE next_id = LAST_INSERT_ID(GREATEST(next_id, 1) + 1000)",
		"INSERT INTO", "INSERT INTO",
	}
	if len(p.stmts) != len(want) {
		t.Fatalf("statements: %q", p.stmts)
	}
	for i, w := range want {
		if !strings.HasPrefix(p.stmts[i], w) {
			t.Fatalf("statement %d: %q, want %q", i, p.stmts[i], w)
		}
	}
	if fmt.Sprint(p.puts) != "[false true false]" {
		t.Fatalf("connections given back (broken?): %v", p.puts)
	}
	p.broken = 2
	if _, err := tb.Reserve("shop.comments", 1000, 1); err == nil {
		t.Fatal("two broken exchanges: want an error")
	}
}
