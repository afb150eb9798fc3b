package router

import (
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/shardgate/shardgate/backend"
	"github.com/shardgate/shardgate/rules"
)

// fakeHeld is a connection of cluster that no server stands behind; the
// tests below never send on it.
func fakeHeld(cluster string) *held {
	c := backend.NewCluster(cluster, "127.0.0.1:1", nil, nil, backend.PoolConfig{MaxOpen: 4, MaxIdle: 4}, 0, nil)
	return &held{Conn: &backend.Conn{}, backend: c.Primary}
}

func TestTxnPinsPerCluster(t *testing.T) {
	var tx txn
	main, s0 := fakeHeld("main"), fakeHeld("s0")
	if tx.sequential() {
		t.Fatal("a fresh session is sequential")
	}
	tx.pin(main, nil)
	tx.pin(s0, nil)
	if tx.pinned("main") != main || tx.pinned("s0") != s0 || tx.pinned("s1") != nil {
		t.Fatal("pins are not per cluster")
	}
	if !tx.sequential() {
		t.Fatal("a session with pinned connections must run steps one by one")
	}
	tx.open = "s0"
	tx.readOnly = true
	tx.unpin(s0)
	if tx.open != "" || tx.readOnly {
		t.Fatalf("unpinning the transaction's connection must end it: open %q readOnly %v", tx.open, tx.readOnly)
	}
	if tx.pinned("main") != main {
		t.Fatal("unpinning s0 dropped main's pin")
	}
	other := fakeHeld("main")
	tx.unpin(other) // not the pinned one: nothing changes
	if tx.pinned("main") != main {
		t.Fatal("unpinning another connection of the cluster dropped the pin")
	}
}

func TestTxnPendingBeginAndStatus(t *testing.T) {
	tx := txn{status: mysql.SERVER_STATUS_AUTOCOMMIT}
	if tx.clientStatus()&mysql.SERVER_STATUS_IN_TRANS != 0 {
		t.Fatal("in a transaction before BEGIN")
	}
	snap := &Snapshot{}
	tx.begin("BEGIN", false, snap)
	if tx.clientStatus()&mysql.SERVER_STATUS_IN_TRANS == 0 || !tx.sequential() || tx.snap != snap {
		t.Fatalf("after BEGIN: status %x, sequential %v, snapshot kept %v", tx.clientStatus(), tx.sequential(), tx.snap == snap)
	}
	tx.end()
	if tx.pending != "" || tx.snap != nil || tx.clientStatus()&mysql.SERVER_STATUS_IN_TRANS != 0 {
		t.Fatal("COMMIT of a transaction that ran nothing left it pending")
	}
	// Only flags that describe the session reach the client.
	tx.status = mysql.SERVER_STATUS_AUTOCOMMIT | mysql.SERVER_MORE_RESULTS_EXISTS | mysql.SERVER_STATUS_LAST_ROW_SEND
	if got := tx.clientStatus(); got != mysql.SERVER_STATUS_AUTOCOMMIT {
		t.Fatalf("client status %x", got)
	}
}

func TestTxnEndPreTxnKeepsOnlyWhereTheTransactionStarted(t *testing.T) {
	var tx txn
	main, s0 := fakeHeld("main"), fakeHeld("s0")
	tx.begin("BEGIN", false, nil)
	tx.pin(main, nil)
	tx.pin(s0, nil)
	tx.sticky = map[string]stickiness{"main": {preTxn: true}, "s0": {preTxn: true, tempTables: true}}
	tx.open = "s0"
	tx.endPreTxn("s0")
	if tx.pinned("main") != nil {
		t.Fatal("the connection kept for the pending BEGIN on main was not let go when the transaction started on s0")
	}
	if tx.pinned("s0") != s0 || tx.sticky["s0"].preTxn || !tx.sticky["s0"].tempTables {
		t.Fatalf("s0: pin %v, sticky %+v", tx.pinned("s0") == s0, tx.sticky["s0"])
	}
}

// TestLockWaitBoundOnSpanningTransactions: a transaction's connections
// carry innodb_lock_wait_timeout bounded by transactions.lock_wait_timeout
// once it spans two clusters (counting the branch a statement starts),
// and the session's own variables otherwise.
func TestLockWaitBoundOnSpanningTransactions(t *testing.T) {
	r, err := rules.Parse("r.yaml", []byte(`users: [{name: app}]
backend: {user: app}
clusters: {main: {primary: 127.0.0.1:1}, s0: {primary: 127.0.0.1:2}}
schemas: {shop: {cluster: main}}
transactions: {lock_wait_timeout: 3s}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := New(r, nil).NewSession("shop", 0, false)
	main, s0 := fakeHeld("main"), fakeHeld("s0")
	lockWait := func(h *held) string { return s.varsFor(h)["innodb_lock_wait_timeout"] }
	if got := lockWait(main); got != "" {
		t.Fatalf("outside a transaction: %q", got)
	}
	s.txn.dist = &distTxn{xa: true}
	if got := lockWait(main); got != "" {
		t.Fatalf("first branch: %q", got)
	}
	s.txn.dist.branches = []string{"main"}
	if got := lockWait(main); got != "" {
		t.Fatalf("on the only branch: %q", got)
	}
	if got := lockWait(s0); got != "3" {
		t.Fatalf("the statement that starts the second branch: %q, want 3", got)
	}
	s.txn.dist.branches = []string{"main", "s0"}
	if got := lockWait(main); got != "3" {
		t.Fatalf("first branch once the transaction spans two: %q", got)
	}
	// A write whose plan names both clusters (Cursor.Atomic) bounds its
	// first branch before the second exists, and a later write's clusters
	// count with the branches already there.
	d := &distTxn{xa: true}
	if d.spans = d.reach([]string{"s0", "s0"}); d.spans != 1 {
		t.Fatalf("one cluster named twice reaches %d", d.spans)
	}
	s.txn.dist = d
	if got := lockWait(s0); got != "" {
		t.Fatalf("a write on one cluster: %q", got)
	}
	if d.spans = d.reach([]string{"s0", "main", "s0"}); d.spans != 2 {
		t.Fatalf("two clusters reach %d", d.spans)
	}
	if got := lockWait(s0); got != "3" {
		t.Fatalf("the first branch of a write the plan spreads over two clusters: %q, want 3", got)
	}
	d.branches = []string{"main"}
	if n := d.reach([]string{"main"}); n != 1 {
		t.Fatalf("a branch and the same cluster again reach %d", n)
	}
	if n := d.reach([]string{"s0", "main"}); n != 2 {
		t.Fatalf("a branch and one more cluster reach %d", n)
	}
	s.txn.dist = &distTxn{xa: true, branches: []string{"main", "s0"}}
	s.state.vars["innodb_lock_wait_timeout"] = "2"
	if got := lockWait(main); got != "2" {
		t.Fatalf("a shorter wait the session set is kept: %q", got)
	}
	s.state.vars["innodb_lock_wait_timeout"] = "50"
	if got := lockWait(main); got != "3" || s.state.vars["innodb_lock_wait_timeout"] != "50" {
		t.Fatalf("bounded: %q, the session's own value changed to %q", got, s.state.vars["innodb_lock_wait_timeout"])
	}
}

// TestTxnAdoptsReloadedSnapshot: a session held only by connection state
// moves to the snapshot a reload made when its clusters are the same pools
// there; not in a transaction's middle, and not when a cluster it holds a
// connection on was replaced.
func TestTxnAdoptsReloadedSnapshot(t *testing.T) {
	s0 := backend.NewCluster("s0", "127.0.0.1:1", nil, nil, backend.PoolConfig{MaxOpen: 4, MaxIdle: 4}, 0, nil)
	s0moved := backend.NewCluster("s0", "127.0.0.1:2", nil, nil, backend.PoolConfig{MaxOpen: 4, MaxIdle: 4}, 0, nil)
	main := backend.NewCluster("main", "127.0.0.1:3", nil, nil, backend.PoolConfig{MaxOpen: 4, MaxIdle: 4}, 0, nil)
	old := &Snapshot{Clusters: map[string]*backend.Cluster{"s0": s0, "main": main}}
	kept := &Snapshot{Clusters: map[string]*backend.Cluster{"s0": s0, "main": backend.NewCluster("main", "127.0.0.1:4", nil, nil, backend.PoolConfig{}, 0, nil)}}
	replaced := &Snapshot{Clusters: map[string]*backend.Cluster{"s0": s0moved, "main": main}}
	h := &held{Conn: &backend.Conn{}, backend: s0.Primary}
	for _, tc := range []struct {
		name    string
		setup   func(*txn)
		current *Snapshot
		want    *Snapshot
	}{
		{"temporary table on an unchanged cluster", func(*txn) {}, kept, kept},
		{"temporary table on a replaced cluster", func(*txn) {}, replaced, old},
		{"a transaction open", func(tx *txn) { tx.open = "s0" }, kept, old},
		{"a BEGIN pending", func(tx *txn) { tx.pending = "BEGIN" }, kept, old},
		{"a distributed transaction", func(tx *txn) { tx.dist = &distTxn{} }, kept, old},
		{"the server says in transaction", func(tx *txn) { tx.status = mysql.SERVER_STATUS_IN_TRANS }, kept, old},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tx txn
			tx.pin(h, old)
			tx.sticky = map[string]stickiness{"s0": {tempTables: true}}
			tc.setup(&tx)
			tx.adopt(tc.current)
			if tx.snap != tc.want {
				t.Fatalf("snapshot after adopt: old %v, current %v", tx.snap == old, tx.snap == tc.current)
			}
		})
	}
	var idle txn
	idle.adopt(kept)
	if idle.snap != nil {
		t.Fatal("a session on no snapshot was given one")
	}
}

// TestTxnCountsSnapshotUsers: each snapshot knows how many sessions are
// held to it, so a reload closes replaced pools only once none is.
func TestTxnCountsSnapshotUsers(t *testing.T) {
	a, b := &Snapshot{}, &Snapshot{}
	var t1, t2 txn
	h := fakeHeld("main")
	t1.begin("BEGIN", false, a)
	t2.pin(h, a)
	if a.users.Load() != 2 {
		t.Fatalf("two sessions held to a: %d", a.users.Load())
	}
	t1.setSnap(b)
	if a.users.Load() != 1 || b.users.Load() != 1 {
		t.Fatalf("after moving one to b: a %d, b %d", a.users.Load(), b.users.Load())
	}
	t1.pending = ""
	t1.forgetSnapshot()
	t2.unpin(h)
	if a.users.Load() != 0 || b.users.Load() != 0 {
		t.Fatalf("after both let go: a %d, b %d", a.users.Load(), b.users.Load())
	}
}
